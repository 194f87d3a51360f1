"""Pictures for the demo's conversations, drawn on the spot: a customer's photo of a
damaged product and a vendor's return label (a PDF)."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw


def damaged_zip_photo() -> bytes:
    """A phone-sized photo of a sleeping bag's broken zip."""
    width, height = 1200, 900
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height):  # the bag's fabric, lit from above
        shade = 70 + y * 60 // height
        draw.line([(0, y), (width, y)], fill=(shade // 2, shade // 2 + 20, shade + 60))
    for x in range(0, width, 24):  # quilting seams
        draw.line([(x, 0), (x + 120, height)], fill=(30, 40, 90), width=2)
    # The zip, with the slider off its track and a gap of missing teeth.
    draw.rectangle((560, 0, 640, height), fill=(40, 40, 48))
    for y in range(0, height, 18):
        if 380 < y < 560:
            continue
        draw.rectangle((566, y, 600, y + 9), fill=(190, 190, 200))
        draw.rectangle((600, y + 9, 634, y + 18), fill=(170, 170, 180))
    draw.rounded_rectangle((520, 560, 690, 680), radius=18, fill=(210, 210, 220))
    draw.ellipse((470, 340, 730, 600), outline=(255, 80, 60), width=10)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=82)
    return out.getvalue()


def return_label() -> bytes:
    """A return label as a one-page PDF."""
    image = Image.new("RGB", (840, 560), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((10, 10, 830, 550), outline="black", width=4)
    lines = [
        "RETURN LABEL",
        "From: Alice Archer, order #1007",
        "To:   Dave's Outdoor, Returns",
        "      12 Trail Road, 80331 Munich",
        "Parcel: 1 of 1 - sleeping bag",
    ]
    for i, line in enumerate(lines):
        draw.text((40, 40 + i * 50), line, fill="black", font_size=30 if i == 0 else 24)
    for x in range(40, 800, 9):  # a barcode
        draw.rectangle((x, 380, x + (3 if x % 27 else 6), 500), fill="black")
    out = io.BytesIO()
    image.save(out, "PDF", resolution=100)
    return out.getvalue()
