"""Process-wide image decoding setup, done once by each composition root."""

from __future__ import annotations

import pillow_heif


def configure_imaging() -> None:
    """Register the HEIF/AVIF decoder with Pillow (phones shoot HEIC reference photos).

    Registration is process-wide, so it happens here, called by the app and the CLI at start-up,
    not as a side effect of importing a module.
    """
    pillow_heif.register_heif_opener()
