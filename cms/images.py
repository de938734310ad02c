"""Image uploads: the one place that decides what an acceptable image is, and how it is stored.

Every image field of the product is a ``SafeImageField``. An upload is accepted only when
Pillow decodes it as a JPEG, PNG, WebP or GIF within the byte and pixel limits; it is then
re-encoded, which drops EXIF, GPS and any other metadata. Validation happens before anything
is written, so a refused upload leaves no file in MEDIA_ROOT.

Renditions (resized copies for front ends) are made once per source image and described in a
JSON field next to it, so API responses need no extra query or file access to list them.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import models
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}

# Widths (px) of the renditions front ends get; never upscaled.
RENDITION_WIDTHS = {"thumbnail": 320, "medium": 768, "large": 1600}


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int


def _limits() -> tuple[int, int]:
    return settings.IMAGE_MAX_BYTES, settings.IMAGE_MAX_PIXELS


def _open(data: bytes) -> Image.Image:
    """Open image bytes, turning every Pillow complaint into a readable ValidationError."""
    _, max_pixels = _limits()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError(
            "This image has too many pixels; the limit is %(limit)s megapixels.",
            code="image_too_many_pixels",
            params={"limit": max_pixels // 1_000_000},
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise ValidationError(
            "This file is not an image we can read. Upload a JPEG, PNG, WebP or GIF.",
            code="image_unreadable",
        ) from None


def inspect_image(data: bytes) -> ImageInfo:
    """Check size, format and pixel count of an upload by decoding it; raise ValidationError."""
    max_bytes, max_pixels = _limits()
    if len(data) > max_bytes:
        raise ValidationError(
            "This file is %(size)s MB; images may be at most %(limit)s MB.",
            code="image_too_large",
            params={"size": round(len(data) / 1_048_576, 1), "limit": max_bytes // 1_048_576},
        )
    image = _open(data)
    if image.format not in ALLOWED_FORMATS:
        raise ValidationError(
            "%(format)s files are not accepted. Upload a JPEG, PNG, WebP or GIF.",
            code="image_format",
            params={"format": image.format or "This kind of"},
        )
    width, height = image.size
    if width * height > max_pixels:
        raise ValidationError(
            "This image is %(width)s x %(height)s pixels; the limit is %(limit)s megapixels.",
            code="image_too_many_pixels",
            params={"width": width, "height": height, "limit": max_pixels // 1_000_000},
        )
    try:
        image.load()  # a full decode: truncated or corrupt data fails here, not later
    except Exception:  # noqa: BLE001 - Pillow raises many types for corrupt data
        raise ValidationError(
            "This image is damaged or incomplete and cannot be decoded.", code="image_corrupt"
        ) from None
    return ImageInfo(format=image.format, width=width, height=height)


def _save_kwargs(fmt: str, image: Image.Image) -> dict[str, Any]:
    if fmt == "JPEG":
        return {"quality": 88, "optimize": True, "progressive": True}
    if fmt == "WEBP":
        return {"quality": 88, "method": 4}
    if fmt == "PNG":
        return {"optimize": True}
    return {}


def _prepare(image: Image.Image, fmt: str) -> Image.Image:
    image = ImageOps.exif_transpose(image)  # keep the photo upright once EXIF is gone
    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    return image


def reencode(data: bytes) -> tuple[bytes, ImageInfo]:
    """Validate an upload and return it re-encoded without metadata, in its own format."""
    info = inspect_image(data)
    image = _open(data)
    out = io.BytesIO()
    if info.format == "GIF" and getattr(image, "n_frames", 1) > 1:
        # Animated banners keep their frames; GIF carries no EXIF/GPS to strip.
        frames = [frame.copy() for frame in ImageSequence.Iterator(image)]
        frames[0].save(
            out,
            format="GIF",
            save_all=True,
            append_images=frames[1:],
            loop=image.info.get("loop", 0),
            duration=image.info.get("duration", 100),
            disposal=2,
        )
    else:
        prepared = _prepare(image, info.format)
        prepared.save(out, format=info.format, **_save_kwargs(info.format, prepared))
    return out.getvalue(), info


def _read(file: Any) -> bytes:
    if hasattr(file, "seek"):
        file.seek(0)
    data = file.read()
    if hasattr(file, "seek"):
        file.seek(0)
    return data


def validate_image_file(file: Any) -> None:
    """Model-field validator: refuses anything ``inspect_image`` refuses."""
    if file is None or getattr(file, "_committed", False):
        return  # an already stored file was checked when it was uploaded
    inspect_image(_read(file))


class SafeImageFormField(forms.ImageField):
    """Form field that reports our own clear messages before Django's generic one."""

    def to_python(self, data: Any) -> Any:
        if data in self.empty_values:
            return None
        inspect_image(_read(data))
        return super().to_python(data)


class SafeImageField(models.ImageField):
    """An ImageField that accepts only safe images and stores them re-encoded."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        validators = list(kwargs.pop("validators", []))
        if validate_image_file not in validators:
            validators.append(validate_image_file)
        kwargs["validators"] = validators
        super().__init__(*args, **kwargs)

    def formfield(self, **kwargs: Any) -> forms.Field | None:
        return super().formfield(**{"form_class": SafeImageFormField, **kwargs})

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        file = getattr(model_instance, self.attname)
        if file and not file._committed:
            data, info = reencode(_read(file))
            name = str(PurePosixPath(file.name).with_suffix("." + ALLOWED_FORMATS[info.format]))
            file.file = ContentFile(data, name=PurePosixPath(name).name)
            file.name = PurePosixPath(name).name
        return super().pre_save(model_instance, add)


# ---------------------------------------------------------------------------------------------
# Renditions


def build_renditions(name: str, widths: dict[str, int] | None = None) -> dict[str, Any]:
    """Make resized copies of a stored image; return their paths and sizes keyed by name."""
    widths = widths or RENDITION_WIDTHS
    with default_storage.open(name, "rb") as fh:
        source = Image.open(io.BytesIO(fh.read()))
        source.load()
    fmt: str = source.format if source.format != "GIF" else "PNG"  # type: ignore[assignment]  # a file Pillow opened has its format
    ext = ALLOWED_FORMATS[fmt]
    stem = PurePosixPath(name).stem
    result: dict[str, Any] = {
        "source": name,
        "original": {"path": name, "width": source.width, "height": source.height},
    }
    for label, width in widths.items():
        image = source.copy()
        if image.mode == "P":
            image = image.convert("RGBA")
        if image.width > width:
            height = max(1, round(image.height * width / image.width))
            image = image.resize((width, height), Image.Resampling.LANCZOS)
        image = _prepare(image, fmt)
        out = io.BytesIO()
        image.save(out, format=fmt, **_save_kwargs(fmt, image))
        path = default_storage.save(f"renditions/{stem}-{label}.{ext}", ContentFile(out.getvalue()))
        result[label] = {"path": path, "width": image.width, "height": image.height}
    return result


def delete_renditions(renditions: dict[str, Any] | None) -> None:
    """Remove rendition files that belonged to a replaced image."""
    for label, value in (renditions or {}).items():
        if label in ("source", "original") or not isinstance(value, dict):
            continue
        default_storage.delete(value["path"])


def refresh_renditions(instance: models.Model, image_field: str, renditions_field: str) -> None:
    """Rebuild renditions after a save when the source image changed (or was removed)."""
    file = getattr(instance, image_field)
    current = getattr(instance, renditions_field) or {}
    source = file.name if file else ""
    if current.get("source", "") == source:
        return
    delete_renditions(current)
    renditions = build_renditions(source) if source else {}
    setattr(instance, renditions_field, renditions)
    type(instance)._base_manager.filter(pk=instance.pk).update(**{renditions_field: renditions})


def rendition_urls(renditions: dict[str, Any] | None, request: Any = None) -> list[dict[str, Any]]:
    """Public description of renditions for APIs: name, absolute URL, width, height."""
    items = []
    for label, value in (renditions or {}).items():
        if label == "source" or not isinstance(value, dict):
            continue
        url = default_storage.url(value["path"])
        if request is not None:
            url = request.build_absolute_uri(url)
        items.append(
            {"name": label, "url": url, "width": value["width"], "height": value["height"]}
        )
    return items
