"""The sign-off report as one self-contained, printable HTML page (a Jinja2 template).

The page is ``resources/templates/report.html.j2`` (its style: ``report.css``, inlined), rendered
with autoescape on for every template: every value from the workspace (file names, notes, model
names, metadata, reasons) is escaped where it is written, with nothing to remember. A
Content-Security-Policy forbids scripts and every resource but inline styles and ``data:``
images, as a second line of defence. This module holds the words and the little view logic the
template needs (times, face boxes, evidence lines).

Public API:
    render_html(report) -> str: the page.
    TEMPLATE: the template's name under ``resources/templates``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

import jinja2

from twinreview.core.approval.policy import parse_timestamp
from twinreview.core.errors import iso_utc
from twinreview.core.logs.verify import GOOD
from twinreview.core.reasons import REASON_CODES, UNKNOWN_REASON
from twinreview.services.report import content as model
from twinreview.services.report.content import AssetSection, SignOffReport
from twinreview.services.resources import resource

TEMPLATE = "report.html.j2"
_MAX_EVIDENCE_CHARS = 240

_STATE_TEXT = {
    "cleared": "✔ Cleared",
    "pending": "… Pending",
    "rejected": "✘ Rejected",
    "blocked": "⊘ Blocked",
}
_SEVERITY_TEXT = {"block": "Blocking", "warn": "Warning", "info": "Info"}
_VERDICT_TEXT = {
    "disclosed": "Disclosed: C2PA and IPTC both say it is AI-made",
    "partial": "Partial: only one of C2PA / IPTC says it is AI-made",
    "missing": "Missing: nothing in the file says it is AI-made",
    "blocked": "Blocked: tampered or contradictory provenance",
}
_VERDICT_CLASS = {"disclosed": "ok", "partial": "sev-warn"}
_DECISION_CLASS = {"approve": "ok", "reject": "bad"}
_EFFECT_CLASS = {
    model.COUNTS: "ok",
    model.SUPERSEDED: "sev-info",
    model.STALE: "sev-warn",
    model.IGNORED: "sev-warn",
    model.UNTRUSTED: "bad",
    model.UNREADABLE_ENTRY: "bad",
}
_RELATION_TEXT = {
    "identical": "identical to the workspace's log now",
    "extended": "the workspace's log has grown since (the export is a prefix of it)",
    "differs": "DIFFERS from the workspace's log (edited, forked or replaced)",
    "missing": "no such log in the workspace now",
    "roster": "the roster's keys (allowed_signers) at export time",
    "heads": "every exported head is still in the workspace (it holds them or extends them)",
    "refused": "not compared: this heads file cannot be trusted",
}
_FACE_VERDICT_TEXT = {
    "own": "the model",
    "other": "another model",
    "ambiguous": "the model or another model",
    "unknown": "nobody in this workspace",
}


def render_html(report: SignOffReport) -> str:
    """The report as one self-contained, printable HTML page."""
    return _environment().get_template(TEMPLATE).render(report=report)


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(resource("templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["when"] = _when
    env.filters["iso"] = iso_utc
    env.globals.update(
        STATE_TEXT=_STATE_TEXT,
        SEVERITY_TEXT=_SEVERITY_TEXT,
        VERDICT_TEXT=_VERDICT_TEXT,
        VERDICT_CLASS=_VERDICT_CLASS,
        DECISION_CLASS=_DECISION_CLASS,
        EFFECT_CLASS=_EFFECT_CLASS,
        RELATION_TEXT=_RELATION_TEXT,
        BAD_RELATIONS=model.BAD_RELATIONS,
        REASON_CODES=REASON_CODES,
        UNKNOWN_REASON=UNKNOWN_REASON,
        GOOD=GOOD,
        who=_who,
        face_boxes=_face_boxes,
        face_lines=_face_lines,
        evidence_label=_evidence_label,
        evidence_text=_evidence_text,
    )
    return env


def _when(ts: str | None) -> str:
    """``2026-03-01 09:01:00`` for an ISO timestamp; anything else as written."""
    if ts is None:
        return "?"
    try:
        return parse_timestamp(ts).strftime("%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError):
        return ts


def _who(name: object, principal: object) -> str:
    """``Name <principal>``, or the principal alone."""
    return f"{name} <{principal}>" if name else str(principal)


def _faces(likeness: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    faces = (likeness or {}).get("faces") or []
    return [
        f
        for f in faces
        if isinstance(f, Mapping)
        and isinstance(f.get("box"), list)
        and len(f["box"]) == 4
        and all(isinstance(v, int | float) for v in f["box"])
    ]


def _face_boxes(likeness: Mapping[str, Any] | None) -> list[dict[str, str]]:
    """Face boxes to draw over the thumbnail: the box is a fraction of the image."""
    boxes = []
    for face in _faces(likeness):
        x0, y0, x1, y1 = face["box"]
        style = (
            f"left:{100 * x0:.1f}%;top:{100 * y0:.1f}%;"
            f"width:{100 * (x1 - x0):.1f}%;height:{100 * (y1 - y0):.1f}%"
        )
        boxes.append({"verdict": str(face.get("verdict")), "style": style})
    return boxes


def _face_lines(a: AssetSection) -> list[str]:
    """One line per face: who it is, and its distances to the closest reference photos."""
    lines = []
    for n, face in enumerate(_faces(a.likeness), 1):
        parts = [f"Face {n}: {_FACE_VERDICT_TEXT.get(str(face.get('verdict')), '?')}"]
        own = face.get("own")
        if isinstance(own, Mapping):
            parts.append(f"own model {own.get('distance')} to {own.get('reference')}")
        best = face.get("best")
        if isinstance(best, Mapping) and best.get("model") != a.model_id:
            parts.append(
                f"closest model {best.get('model')} {best.get('distance')} to "
                f"{best.get('reference')}"
            )
        lines.append(" · ".join(parts))
    return lines


def _evidence_label(rel: str) -> str:
    return "Reference photo" if rel.startswith("models/") else "Compared with"


def _evidence_text(evidence: Mapping[str, Any]) -> str:
    items = []
    for k, v in evidence.items():
        if v is None or v == [] or v == {}:
            continue
        text = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)
        if len(text) > _MAX_EVIDENCE_CHARS:
            text = text[:_MAX_EVIDENCE_CHARS] + "…"
        items.append(f"{k}: {text}")
    return " · ".join(items)


__all__ = ["TEMPLATE", "render_html"]
