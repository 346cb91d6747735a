"""One call per file: bytes in, :class:`DisclosureReport` out. Thread-safe; never raises."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import PurePath

import c2pa

from twinreview.core.disclosure.c2pa_reader import make_context, read_c2pa
from twinreview.core.disclosure.label import DEFAULT_THRESHOLD, LabelTemplate, find_label
from twinreview.core.disclosure.model import (
    C2paReport,
    C2paState,
    DisclosureReport,
    LabelReport,
    Verdict,
    XmpReport,
)
from twinreview.core.disclosure.sniff import sniff
from twinreview.core.disclosure.verdict import decide, is_manifest_stripped
from twinreview.core.disclosure.xmp import read_xmp

# Above this, a file is not a photo; the imageio module uses the same bound.
MAX_FILE_BYTES = 512 * 1024 * 1024

_RASTER = frozenset({"jpeg", "png", "gif", "webp", "tiff", "heic", "avif", "bmp"})

_heif_lock = threading.Lock()
_heif_registered = False


@dataclass(frozen=True)
class InspectSettings:
    """What every inspection shares: build once per workspace, pass to each call.

    Attributes:
        context: Offline c2pa context (remote manifest and OCSP fetch off).
        trust_configured: True when trust anchors were given (changes the notes and findings).
        label: The visible label to look for, or None.
        label_threshold: NCC score from which the label counts as found.
    """

    context: c2pa.Context
    trust_configured: bool = False
    label: LabelTemplate | None = None
    label_threshold: float = DEFAULT_THRESHOLD

    @classmethod
    def offline(
        cls,
        *,
        trust_anchors_pem: str | None = None,
        label: LabelTemplate | None = None,
        label_threshold: float = DEFAULT_THRESHOLD,
    ) -> InspectSettings:
        """Build settings with a fresh offline context.

        Raises:
            ValueError: when the c2pa SDK rejects the trust anchors.
        """
        return cls(
            context=make_context(trust_anchors_pem),
            trust_configured=bool(trust_anchors_pem),
            label=label,
            label_threshold=label_threshold,
        )


def xmp_sidecar_paths(path: PurePath) -> tuple[PurePath, PurePath]:
    """The two names an XMP sidecar of ``path`` may have: ``name.xmp`` and ``name.ext.xmp``."""
    return path.with_suffix(".xmp"), path.with_name(path.name + ".xmp")


def inspect_bytes(
    data: bytes,
    *,
    path_hint: str | None = None,
    sidecar_xmp: bytes | None = None,
    settings: InspectSettings,
) -> DisclosureReport:
    """Read the AI disclosure of one file from its bytes.

    Args:
        data: The whole file, as read once by the caller.
        path_hint: Display name for notes only; the format is sniffed from the bytes.
        sidecar_xmp: Bytes of the file's ``.xmp`` sidecar, if there is one.
        settings: Shared settings from :meth:`InspectSettings.offline`.

    Returns:
        The report. Never raises: bad input becomes ``error`` and notes.
    """
    try:
        return _inspect(data, sidecar_xmp, settings)
    except Exception as exc:  # noqa: BLE001 - the scan must go on whatever one file does
        name = f" {path_hint}" if path_hint else ""
        message = f"internal error while inspecting{name}: {type(exc).__name__}: {exc}"[:300]
        return DisclosureReport(
            verdict=Verdict.MISSING,
            c2pa=C2paReport(C2paState.ABSENT),
            xmp=XmpReport(),
            error=message,
            notes=(message,),
        )


def _inspect(data: bytes, sidecar: bytes | None, settings: InspectSettings) -> DisclosureReport:
    error: str | None = None
    fmt: str | None = None
    mime: str | None = None
    notes: list[str] = []
    if not data:
        error = "the file is empty (0 bytes)"
    elif len(data) > MAX_FILE_BYTES:
        error = f"the file is {len(data) // (1024 * 1024)} MB, too large to be a photo"
    else:
        sniffed = sniff(data)
        fmt, mime = sniffed.format, sniffed.mime
        if fmt is None:
            error = "not an image in a supported format (JPEG, PNG, WebP, TIFF, HEIC, AVIF, GIF)"

    if error is None and fmt == "xmp":
        c2pa_report = C2paReport(C2paState.ABSENT)
        notes.append("This is an XMP sidecar, not an image: only its metadata was read.")
    elif error is None and mime is not None:
        c2pa_report = read_c2pa(
            data, mime, settings.context, trust_configured=settings.trust_configured
        )
    else:
        c2pa_report = C2paReport(C2paState.ABSENT)

    xmp_report = read_xmp(data if error is None else b"", fmt, sidecar)
    verdict, conflict, verdict_notes = decide(c2pa_report, xmp_report)
    stripped = is_manifest_stripped(c2pa_report, xmp_report)

    label: LabelReport | None = None
    if settings.label is not None:
        label = _label(data, fmt, error, settings)

    notes = [*verdict_notes, *notes, *c2pa_report.notes, *xmp_report.notes]
    if stripped:
        reference = next(p for p in xmp_report.provenance if p.startswith("self#jumbf="))
        notes.append(
            "The XMP metadata points to an embedded C2PA manifest (dcterms:provenance "
            f"{reference}) that is not in the file: the Content Credentials were stripped."
        )
    if fmt == "svg":
        notes.append("This is an SVG drawing, not a raster image.")
    if error:
        notes.insert(0, f"The file could not be read as an image: {error}.")
    return DisclosureReport(
        verdict=verdict,
        c2pa=c2pa_report,
        xmp=xmp_report,
        label=label,
        notes=tuple(dict.fromkeys(notes)),
        format=fmt,
        error=error,
        conflict=conflict,
        manifest_stripped=stripped,
    )


def _label(
    data: bytes, fmt: str | None, error: str | None, settings: InspectSettings
) -> LabelReport:
    assert settings.label is not None
    if error is not None or fmt not in _RASTER:
        return LabelReport(found=False, error="the file is not a raster image")
    if fmt in ("heic", "avif"):
        _ensure_heif_opener()
    from twinreview.core.imageio import ImageLoadError, load_image

    try:
        # The label search works at 480 px wide; decode a little larger so that JPEG draft mode
        # and the reduction do not blur a small label away.
        loaded = load_image(data, min_side=480, max_side=1200)
    except ImageLoadError as exc:
        return LabelReport(found=False, error=f"the image cannot be decoded: {exc}")
    return find_label(
        loaded.image,
        settings.label,
        threshold=settings.label_threshold,
        original_size=(loaded.width, loaded.height),
    )


def _ensure_heif_opener() -> None:
    # Registering pillow-heif's opener changes Pillow's global plugin table; do it once, lazily,
    # only when a HEIC/AVIF image has to be decoded, never as an import side effect.
    global _heif_registered
    with _heif_lock:
        if not _heif_registered:
            import pillow_heif

            pillow_heif.register_heif_opener()
            _heif_registered = True
