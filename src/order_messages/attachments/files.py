"""What an uploaded file really is, and the clean copy of it that is stored.

Nothing the sender says about a file is believed: the type comes from its first bytes,
never from its name or the Content-Type header. Images are decoded and encoded again, so
what is stored holds pixels and a colour profile only (no EXIF, GPS, XMP or appended
payload), turned the way the camera meant. PDFs are kept as sent, refused when they
declare scripts or embedded files, and only ever served as downloads.
"""

from __future__ import annotations

import functools
import io
import os
import re
import unicodedata
import warnings
import zlib
from dataclasses import dataclass

from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from ..conf import app_settings
from ..errors import AttachmentRefused, AttachmentTooLarge

# type: (label for people, extension of the stored file, Pillow format it is saved in)
KNOWN_TYPES = {
    "image/jpeg": ("JPEG", "jpg", "JPEG"),
    "image/png": ("PNG", "png", "PNG"),
    "image/webp": ("WebP", "webp", "WEBP"),
    # A GIF keeps its first frame, stored as PNG: one still picture, no palette tricks.
    "image/gif": ("GIF", "png", "PNG"),
    "application/pdf": ("PDF", "pdf", None),
}
# Extensions a name may keep for each stored type; another one is replaced.
EXTENSIONS = {
    "jpg": {"jpg", "jpeg", "jpe", "jfif"},
    "png": {"png"},
    "webp": {"webp"},
    "pdf": {"pdf"},
}
MAX_NAME_LENGTH = 200
PILLOW_FORMAT_OF = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/gif": "GIF",
}
# Named in a PDF's structure, these run code or carry other files when it is opened.
ACTIVE_PDF_NAMES = {
    b"JavaScript",
    b"JS",
    b"Launch",
    b"EmbeddedFile",
    b"EmbeddedFiles",
    b"RichMedia",
    b"XFA",
    b"GoToE",
    b"SubmitForm",
    b"ImportData",
}
# Compressed streams are opened too (object streams hide dictionaries), up to this much.
PDF_INFLATE_LIMIT = 32 * 1024 * 1024
PDF_STREAM = re.compile(rb"stream\r?\n")
PDF_NAME = re.compile(rb"/([A-Za-z0-9#]{2,40})")
HEX_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
MARKUP = re.compile(rb"<\s*(!doctype|html|head|body|script|svg|iframe|object|embed|\?xml)", re.I)
# Characters that make a name lie about itself (right-to-left overrides: "photo\u202egpj.exe")
# or that no file system keeps.
BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


@dataclass
class CleanFile:
    name: str
    content_type: str
    content: bytes
    extension: str
    width: int | None = None
    height: int | None = None
    thumbnail: bytes | None = None
    thumbnail_width: int | None = None
    thumbnail_height: int | None = None


def accepted_labels() -> str:
    labels = []
    for content_type in app_settings.ATTACHMENT_TYPES:
        label = KNOWN_TYPES.get(content_type, (content_type,))[0]
        if label not in labels:
            labels.append(label)
    return ", ".join(labels)


def _refuse(name: str, reason: str) -> AttachmentRefused:
    return AttachmentRefused(
        _("“%(name)s” cannot be attached: %(reason)s") % {"name": name, "reason": reason}
    )


def sniff(head: bytes) -> str | None:
    """The type the content is, from its first bytes; None when it is none we accept."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def _why_not(head: bytes) -> str:
    """Why a file of an unknown type is refused, for the kinds people try most."""
    start = head.lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n")
    if start.startswith(b"<"):
        return _("web pages, SVG and other markup can carry scripts and are not accepted.")
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"Rar!", b"7z\xbc\xaf", b"\x1f\x8b")) or (
        head.startswith((b"BZh", b"\xfd7zXZ")) or head[257:262] == b"ustar"
    ):
        return _("archives (zip and the like) are not accepted; attach the files themselves.")
    if head.startswith((b"MZ", b"\x7fELF", b"#!", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe")):
        return _("programs and scripts are not accepted.")
    return _("only these types are accepted: %(types)s.") % {"types": accepted_labels()}


def clean_name(name: str) -> str:
    """The name to show, or a clear refusal. The stored file never uses it: storage names
    are random."""
    name = unicodedata.normalize("NFC", name or "").strip()
    shown = name[:60] + ("…" if len(name) > 60 else "")
    if "\x00" in name or any(
        unicodedata.category(c) in ("Cc", "Cs") or c in BIDI_CONTROLS for c in name
    ):
        raise AttachmentRefused(
            _(
                "A file name contains characters that cannot be kept (control characters). "
                "Please rename the file."
            )
        )
    if "/" in name or "\\" in name:
        raise _refuse(shown, _("a file name cannot contain / or \\. Please rename the file."))
    if len(name) > MAX_NAME_LENGTH:
        raise _refuse(
            shown,
            _("file names can have at most %(limit)d characters. Please rename the file.")
            % {"limit": MAX_NAME_LENGTH},
        )
    if name.strip(".") == "":
        raise AttachmentRefused(_("A file has no name. Please rename the file."))
    return name


def _named_for(name: str, extension: str) -> str:
    """The name with an extension that matches what the file is."""
    stem, ext = os.path.splitext(name)
    if ext.lstrip(".").lower() in EXTENSIONS[extension]:
        return name
    stem = stem or name
    return f"{stem[: MAX_NAME_LENGTH - len(extension) - 1]}.{extension}"


def inspect_upload(*, name: str, content: bytes) -> CleanFile:
    """Check one file and make the copy to store. Raises AttachmentRefused, with the file's
    name and the reason, for anything that is not a clean image or PDF of the allowed
    types and size."""
    name = clean_name(name)
    check_size(name=name, size=len(content))
    if not content:
        raise _refuse(name, _("the file is empty."))
    content_type = sniff(content[:512])
    if content_type is None or content_type not in app_settings.ATTACHMENT_TYPES:
        raise _refuse(name, _why_not(content[:512]))
    if content_type == "application/pdf":
        return _clean_pdf(name=name, content=content)
    return _clean_image(name=name, content=content, content_type=content_type)


def check_size(*, name: str, size: int) -> None:
    limit = app_settings.ATTACHMENT_MAX_BYTES
    if size > limit:
        raise AttachmentTooLarge(
            _("“%(name)s” is %(size)s; files can be at most %(limit)s.")
            % {"name": name, "size": filesizeformat(size), "limit": filesizeformat(limit)}
        )


def _clean_pdf(*, name: str, content: bytes) -> CleanFile:
    if b"%%EOF" not in content[-1024:]:
        raise _refuse(
            name, _("the file is damaged or incomplete (it may not have finished uploading).")
        )
    if MARKUP.search(content[:4096]):
        # A PDF that is also a web page: harmless as a download, but no honest PDF is.
        raise _refuse(name, _("the file is a PDF and a web page at once."))
    if _pdf_names(content) & ACTIVE_PDF_NAMES:
        raise _refuse(name, _("PDFs with scripts or embedded files are not accepted."))
    return CleanFile(
        name=_named_for(name, "pdf"),
        content_type="application/pdf",
        content=content,
        extension="pdf",
    )


def _pdf_names(content: bytes) -> set[bytes]:
    """The names a PDF's structure uses, in its plain parts and in its Flate-compressed
    streams (where object streams keep dictionaries), with #xx escapes undone. At most
    PDF_INFLATE_LIMIT bytes are inflated in all, so a compression bomb costs nothing."""
    texts = [content]
    budget = PDF_INFLATE_LIMIT
    for match in PDF_STREAM.finditer(content):
        if budget <= 0:
            break
        inflate = zlib.decompressobj()
        try:
            text = inflate.decompress(content[match.end() :], budget)
        except zlib.error:
            continue  # not Flate (an image, a font): nothing of the structure is in it
        budget -= len(text)
        texts.append(text)
    unescape = functools.partial(HEX_ESCAPE.sub, lambda m: bytes([int(m[1], 16)]))
    return {unescape(name) for text in texts for name in PDF_NAME.findall(text)}


def _open_image(name: str, content: bytes, content_type: str) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(content), formats=[PILLOW_FORMAT_OF[content_type]])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(name) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise _refuse(name, _("the image is damaged and cannot be read.")) from None
    width, height = image.size
    if width * height > app_settings.ATTACHMENT_MAX_PIXELS or not width or not height:
        raise _too_many_pixels(name, width, height)
    try:
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError):
        raise _refuse(
            name, _("the image is damaged or incomplete (it may not have finished uploading).")
        ) from None
    return image


def _too_many_pixels(name, width=None, height=None):
    limit = app_settings.ATTACHMENT_MAX_PIXELS / 1_000_000
    if width and height:
        return _refuse(
            name,
            _(
                "the image is %(width)d × %(height)d pixels; at most %(limit)g megapixels are "
                "accepted."
            )
            % {"width": width, "height": height, "limit": limit},
        )
    return _refuse(
        name, _("the image has too many pixels (at most %(limit)g megapixels).") % {"limit": limit}
    )


def _clean_image(*, name: str, content: bytes, content_type: str) -> CleanFile:
    image = _open_image(name, content, content_type)
    icc_profile = image.info.get("icc_profile")
    try:
        # A new image, turned the way the camera was held; the decoded one is let go.
        image = ImageOps.exif_transpose(image)
    except Exception:  # noqa: BLE001 — a broken orientation tag: keep the pixels as they are
        image = image.copy()
    label, extension, save_as = KNOWN_TYPES[content_type]
    keeps_alpha = save_as != "JPEG"
    if image.mode.startswith("I"):  # 16- or 32-bit grey: scale to 8 bits, not clip to white
        image = image.convert("I").point(lambda value: value / 256).convert("L")
    if image.mode not in ("RGB", "L") and not (keeps_alpha and image.mode in ("RGBA", "LA")):
        has_alpha = "A" in image.mode or "transparency" in image.info
        image = image.convert("RGBA" if keeps_alpha and has_alpha else "RGB")
        icc_profile = None  # a CMYK or palette profile would misdescribe the new pixels
    # Pixels only: nothing of the original's metadata (EXIF, XMP, comments, GPS) is kept
    # with them; encoders write only what they are given, and the colour profile is given.
    clean = image
    clean.info = {}
    options = {"icc_profile": icc_profile} if icc_profile else {}
    if save_as == "JPEG":
        options.update(quality=90)
    elif save_as == "WEBP":
        options.update(quality=90)
    else:
        options.update(optimize=True)
    out = io.BytesIO()
    clean.save(out, save_as, **options)
    thumbnail, (thumb_width, thumb_height) = _thumbnail(clean, icc_profile=icc_profile)
    stored_type = "image/png" if save_as == "PNG" else content_type
    return CleanFile(
        name=_named_for(name, extension),
        content_type=stored_type,
        content=out.getvalue(),
        extension=extension,
        width=clean.width,
        height=clean.height,
        thumbnail=thumbnail,
        thumbnail_width=thumb_width,
        thumbnail_height=thumb_height,
    )


def _thumbnail(image: Image.Image, *, icc_profile: bytes | None) -> tuple[bytes, tuple[int, int]]:
    side = app_settings.ATTACHMENT_THUMBNAIL_SIZE
    width, height = image.size
    scale = min(1.0, side / max(width, height))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # Resized straight from the clean image (no copy of its 12 million pixels first); the
    # reducing gap shrinks by whole factors before the fine resampling, as thumbnail() does.
    small = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)
    out = io.BytesIO()
    small.save(out, "WEBP", quality=80, **({"icc_profile": icc_profile} if icc_profile else {}))
    return out.getvalue(), small.size
