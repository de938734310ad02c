"""Image bytes for upload tests, made with Pillow on the fly."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image


def image_bytes(fmt: str = "PNG", size=(64, 48), color=(200, 30, 60), **save_kwargs) -> bytes:
    mode = "RGBA" if fmt in ("PNG", "WEBP") else "RGB"
    fill = (*color, 255) if mode == "RGBA" else color
    out = io.BytesIO()
    Image.new(mode, size, fill).save(out, format=fmt, **save_kwargs)
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (40, 30), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Inc."  # Make
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0)}  # GPS IFD: latitude
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def upload(name: str = "photo.png", data: bytes | None = None, content_type="image/png"):
    return SimpleUploadedFile(name, data if data is not None else image_bytes(), content_type)
