"""Measure what accepting one upload costs: ``python -m tests.cms.image_probe FILE``.

Runs in a process of its own so that its peak memory is its own: it reads the file, notes the
peak resident memory, then does what an upload does before anything is stored (the field's
validation, then the re-encoding ``SafeImageField.pre_save`` does) and prints one JSON line:
the outcome (``accepted`` or the refusal's code), the seconds it took and how much the peak
resident memory grew (MB). tests/cms/test_image_bombs.py runs it; the README quotes it.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KB


def main(path: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cms.settings")
    import django

    django.setup()
    from django.core.exceptions import ValidationError
    from django.core.files.uploadedfile import SimpleUploadedFile

    from cms import images

    with open(path, "rb") as fh:
        upload = SimpleUploadedFile(os.path.basename(path), fh.read(), "image/gif")
    before = peak_mb()
    started = time.perf_counter()
    try:
        images.validate_image_file(upload)
        upload.seek(0)
        images.reencode(upload.read())
        outcome = "accepted"
    except ValidationError as error:
        outcome = error.code or "invalid"
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "outcome": outcome,
                "seconds": round(seconds, 3),
                "peak_growth_mb": round(peak_mb() - before, 1),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
