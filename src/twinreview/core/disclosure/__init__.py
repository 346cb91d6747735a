"""AI disclosure: offline C2PA, IPTC XMP digital source type, visible label, one verdict.

Public API (see DESIGN 2.2)::

    settings = InspectSettings.offline(trust_anchors_pem=..., label=LabelTemplate.from_bytes(...))
    report = inspect_bytes(data, path_hint="a.jpg", sidecar_xmp=None, settings=settings)
    report.to_json()                      # the "disclosure" object of inspect/scan --json
    DisclosureReport.from_json(data)      # and back (the scan cache)
    findings = disclosure_findings(report, ws.settings.disclosure, trust_configured=...)
    findings[0].evidence.verdict          # a DisclosureEvidence
    DisclosurePolicy.is_approvable(report.verdict)
"""

from __future__ import annotations

# isort: off
# First: load c2pa-python's native library from its own package only (see c2pa_loader).
from twinreview.core.disclosure import c2pa_loader as _c2pa_loader  # noqa: F401

# isort: on
from twinreview.core.disclosure.inspect import InspectSettings, inspect_bytes, xmp_sidecar_paths
from twinreview.core.disclosure.label import LabelError, LabelTemplate
from twinreview.core.disclosure.model import (
    C2paReport,
    C2paState,
    DisclosureEvidence,
    DisclosureReport,
    FoundSourceType,
    LabelReport,
    Verdict,
    XmpReport,
    XmpValue,
)
from twinreview.core.disclosure.policy import DisclosureConfigError, DisclosurePolicy
from twinreview.core.disclosure.verdict import disclosure_findings

__all__ = [
    "C2paReport",
    "C2paState",
    "DisclosureConfigError",
    "DisclosureEvidence",
    "DisclosurePolicy",
    "DisclosureReport",
    "FoundSourceType",
    "InspectSettings",
    "LabelError",
    "LabelReport",
    "LabelTemplate",
    "Verdict",
    "XmpReport",
    "XmpValue",
    "disclosure_findings",
    "inspect_bytes",
    "xmp_sidecar_paths",
]
