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


# ---------------------------------------------------------------------------------------------
# Image bombs: tiny files that decode to huge pictures. Built by splicing and patching headers,
# so making them costs the test almost nothing.


def _gif_blocks(data: bytes) -> tuple[int, int]:
    """Where the first frame (its extensions and image block) starts and ends in a GIF."""
    flags = data[10]
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    start = pos
    while data[pos] == 0x21:  # extensions (graphic control...) before the image descriptor
        pos += 2
        while data[pos]:
            pos += data[pos] + 1
        pos += 1
    assert data[pos] == 0x2C, "image descriptor expected"
    pos += 10
    if data[pos - 1] & 0x80:
        pos += 3 << ((data[pos - 1] & 7) + 1)
    pos += 1  # LZW minimum code size
    while data[pos]:
        pos += data[pos] + 1
    return start, pos + 1


def gif_bomb(frames: int = 30, size=(4000, 4000)) -> bytes:
    """An animated GIF of ``frames`` solid frames of ``size`` (the issue's: 30 x 4000x4000)."""
    out = io.BytesIO()
    Image.new("P", size, 1).save(out, format="GIF")
    data = out.getvalue()
    start, end = _gif_blocks(data)
    # NETSCAPE2.0 loop extension: what makes browsers (and Pillow) treat it as an animation.
    loop = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    return data[:start] + loop + data[start:end] * frames + b";"


def png_declaring(width: int, height: int) -> bytes:
    """A small real PNG whose header claims ``width`` x ``height`` (its data is one row)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    idat = zlib.compress(b"\x00" * (4 * width + 1))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def webp_declaring(width: int, height: int) -> bytes:
    """A small lossless WebP whose header claims ``width`` x ``height`` (at most 16384)."""
    data = bytearray(image_bytes("WEBP", (16, 16), lossless=True))
    assert data[12:16] == b"VP8L" and data[20] == 0x2F
    bits = int.from_bytes(data[21:25], "little") & ~((1 << 28) - 1)
    bits |= (width - 1) | ((height - 1) << 14)
    data[21:25] = bits.to_bytes(4, "little")
    return bytes(data)


def pixel_bomb_gif(size=(10_000, 10_000), screen=None) -> bytes:
    """A single-frame GIF of ``size`` pixels (100 megapixels by default) in a few dozen bytes.

    ``screen`` gives the logical screen a smaller size than the frame: readers (Pillow too)
    grow the picture to the frame's extent."""
    import struct

    data = image_bytes("GIF", (2, 2))
    start, _ = _gif_blocks(data)
    width, height = size
    screen_width, screen_height = screen or size
    header = data[:6] + struct.pack("<HH", screen_width, screen_height) + data[10:start]
    return header + _frame_of(width, height) + b";"


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small JPEG whose frame header (SOF0) claims ``width`` x ``height``."""
    import struct

    data = bytearray(image_bytes("JPEG", (16, 16)))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def animated(fmt: str, frames: int = 2, size=(32, 24)) -> bytes:
    """A small animated PNG (APNG), WebP or GIF of ``frames`` differently coloured frames."""
    out = io.BytesIO()
    pictures = [Image.new("RGB", size, (40 * i, 80, 200 - 40 * i)) for i in range(frames)]
    pictures[0].save(out, format=fmt, save_all=True, append_images=pictures[1:], duration=100)
    return out.getvalue()


def _frame_of(width: int, height: int) -> bytes:
    """An image block of ``width`` x ``height`` whose LZW data is cut short (never decoded)."""
    import struct

    return b"\x2c" + struct.pack("<HHHH", 0, 0, width, height) + b"\x00" + b"\x02\x02\x44\x01\x00"


SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b'<script>alert("svg")</script><rect width="10" height="10"/></svg>'
)
