"""Files for the attachment tests, made on the spot: a phone photo with GPS in its EXIF,
a PDF, and the hostile ones (renamed HTML, polyglots, bombs, truncated uploads)."""

from __future__ import annotations

import io
import zipfile
import zlib

from PIL import Image, ImageDraw

GPS_LATITUDE = (52.0, 31.0, 12.34)


def phone_photo(*, width=400, height=300, orientation=6, size_hint=0) -> bytes:
    """A JPEG as a phone takes it: EXIF with the camera, the time and where it was taken,
    and an orientation tag (6: the phone was held upright, so the pixels are turned)."""
    image = Image.new("RGB", (width, height), (180, 120, 60))
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, width // 2, height // 2), fill=(30, 90, 160))
    draw.text((30, height - 40), "torn tent", fill=(255, 255, 255))
    if size_hint:  # noise, so the JPEG does not compress below the size wanted
        noise = Image.effect_noise((width, height), 80).convert("RGB")
        image = Image.blend(image, noise, 0.5)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Phone 15"  # Model
    exif[0x0112] = orientation
    exif[0x0132] = "2026:12:01 09:30:00"
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = GPS_LATITUDE
    gps[3] = "E"
    gps[4] = (13.0, 24.0, 56.78)
    out = io.BytesIO()
    image.save(
        out,
        "JPEG",
        exif=exif,
        quality=95,
        comment=b"Taken at home",
        xmp=b"<x:xmpmeta>home</x:xmpmeta>",
    )
    return out.getvalue()


def png(width=64, height=48, color=(20, 140, 90, 255)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (width, height), color).save(out, "PNG")
    return out.getvalue()


def pdf(text="Invoice 1001") -> bytes:
    """A small valid PDF with one page of text."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        None,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    stream = f"BT /F1 18 Tf 20 100 Td ({text}) Tj ET".encode()
    objects[3] = b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def pdf_with_javascript() -> bytes:
    return pdf().replace(
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /J#61vaScript /JS (app.alert(1)) >> >>",
    )


def pdf_with_compressed_javascript() -> bytes:
    """JavaScript hidden in a compressed object stream, where a plain search sees nothing."""
    catalog = b"<< /Type /Catalog /Pages 2 0 R /OpenAction << /S /JavaScript /JS (x) >> >>"
    packed = zlib.compress(catalog)
    stream = b"9 0 obj\n<< /Type /ObjStm /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed)
    return pdf().replace(b"%%EOF", stream + packed + b"\nendstream\nendobj\n%%EOF")


def zip_bomb() -> bytes:
    """A zip that would unpack to 100 MB of zeros."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.bin", b"\0" * (100 * 1024 * 1024))
    return out.getvalue()


def huge_png(side=20_000) -> bytes:
    """A PNG of side × side pixels, a few hundred kilobytes on disk (all one colour)."""
    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, "PNG")
    return out.getvalue()


def gifar() -> bytes:
    """A GIF with a zip appended: an image viewer and an unzip tool both open it."""
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (255, 0, 0)).save(out, "GIF")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("payload.html", "<script>alert(1)</script>")
    return out.getvalue() + archive.getvalue()


HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
