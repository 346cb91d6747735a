"""The workspace policy in words: each setting, what it means, its default, its value.

The settings are those of the signed ``[similarity]`` and ``[disclosure]`` tables.

Read by ``twinreview roster show`` (the rules in force, who set them) and by the app's rules
editor, which edits the same settings and signs the tables it builds with
:func:`with_value` through the same service call as ``twinreview roster policy``. Pure: no
files, no Qt.

Public API:
    Setting: one setting (its place in the tables, its words, its kind and default).
    SETTINGS: every setting, in the order people read them.
    SEVERITY_WORDS, VERDICT_WORDS: the words for severities and disclosure verdicts.
    value_of(tables, setting) -> the value in force (the default when the tables say nothing).
    is_set(tables, setting) -> the tables say it themselves.
    value_words(setting, value) -> the value said plainly.
    with_value(tables, setting, value) -> new tables (only what changed is written).
    policy_sentences(tables) -> one sentence per setting the tables set.
    unknown_keys(tables) -> dotted names the tables hold that no setting describes.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from twinreview.core.disclosure.label import DEFAULT_THRESHOLD as LABEL_THRESHOLD
from twinreview.core.disclosure.policy import DEFAULT_APPROVABLE, DEFAULT_SEVERITIES
from twinreview.core.findings import DEFAULT_SEVERITY
from twinreview.core.likeness.model import DEFAULT_SEVERITY as LIKENESS_SEVERITY
from twinreview.core.likeness.model import LikenessSettings
from twinreview.core.similarity.match import SimilarityThresholds

#: Kinds of setting: how its value is edited and said.
SEVERITY, VERDICTS, SWITCH, NUMBER, COUNT, FILES, FILE = (
    "severity",
    "verdicts",
    "switch",
    "number",
    "count",
    "files",
    "file",
)

SEVERITY_WORDS: Mapping[str, str] = {
    "block": "blocks approval",
    "warn": "a warning",
    "info": "a note only",
}

#: Disclosure verdicts, in the order people weigh them.
VERDICT_WORDS: Mapping[str, str] = {
    "disclosed": "fully disclosed",
    "partial": "partly disclosed",
    "missing": "not disclosed",
    "blocked": "blocked (tampered or contradictory)",
}


@dataclass(frozen=True)
class Setting:
    """One setting of the policy tables.

    Attributes:
        path: Where it lives, e.g. ``("disclosure", "approvable")``.
        label: What it is, in words (no key names).
        help: One sentence more, for a tooltip.
        kind: How its value is edited and said (:data:`SEVERITY`, :data:`VERDICTS` ...).
        default: Its value when the tables do not set it.
        group: The heading it is shown under.
        low, high: The range of a number or count.
    """

    path: tuple[str, ...]
    label: str
    help: str
    kind: str
    default: Any
    group: str
    low: float = 0
    high: float = 0


_SIMILARITY_KINDS: Mapping[str, tuple[str, str]] = {
    "near_copy_of_reference": (
        "A copy of the model's own real photo",
        "A retouched, cropped or mirrored real photo passed off as a generated image",
    ),
    "matches_other_model": (
        "A copy of another model's real photo",
        "The image is made from a real photo of someone else in the workspace",
    ),
    "resubmitted_rejected": (
        "An image like one rejected before",
        "A near copy of an image someone already rejected",
    ),
    "duplicate_in_batch": (
        "The same image twice among the images",
        "Two images under review are copies of each other",
    ),
    "unreadable": ("A file that cannot be opened", "Damaged, truncated or not an image at all"),
    "unknown_model": (
        "An image filed under a model the workspace does not have",
        "Its folder names nobody in models/",
    ),
    "bad_sidecar": (
        "A damaged description that came with the image",
        "The image's .json description cannot be read",
    ),
    "no_references": (
        "A model without real photos to compare with",
        "Copies of her photos cannot be found",
    ),
    "looks_like_other_model": (
        "A face that looks like another model",
        "The face check finds someone else of the workspace in the image",
    ),
    "likeness_unconfirmed": (
        "A face the check cannot confirm as the model",
        "No face, or a face not close enough to her real photos",
    ),
    "unknown_person": (
        "A face of someone not in the workspace",
        "A face like nobody's real photos here",
    ),
}

_DISCLOSURE_KINDS: Mapping[str, tuple[str, str]] = {
    "missing_disclosure": (
        "No AI disclosure in the file",
        "Neither Content Credentials nor the XMP field says the image was made by AI",
    ),
    "partial_disclosure": (
        "AI disclosed in only one of its two places",
        "Content Credentials or the XMP field says it, not both",
    ),
    "tampered_provenance": (
        "Content Credentials changed after they were signed",
        "The image or its credentials were edited after signing",
    ),
    "disclosure_conflict": (
        "The file contradicts itself about AI",
        "One place says AI-made, another says otherwise",
    ),
    "credential_problem": (
        "Content Credentials signed with an expired or untrusted certificate",
        "The credentials are intact but their signer is not trusted here",
    ),
    "remote_manifest_unverified": (
        "Content Credentials stored online",
        "They cannot be checked offline",
    ),
    "manifest_stripped": (
        "Content Credentials removed",
        "The file shows signs that its credentials were stripped",
    ),
    "label_missing": (
        "The visible AI label missing",
        "The workspace's label image is in none of the corners",
    ),
}

_THRESHOLDS: Mapping[str, tuple[str, str]] = {
    "candidate": (
        "Copy search: hash distance at which two images are compared closely",
        "Bits of 64 that may differ; higher finds more candidates and costs more checking",
    ),
    "strong": (
        "Copy search: hash distance that is a copy on its own",
        "Bits of 64; lower is stricter",
    ),
    "match": (
        "Copy search: hash distance that is a copy when the second hash agrees",
        "Bits of 64; lower is stricter",
    ),
    "match_dhash": (
        "Copy search: how far the second hash may differ for that",
        "Bits of 64 of the difference hash",
    ),
    "min_inliers": (
        "Copy check: matching points one transform must explain",
        "Geometric verification of a candidate; higher is stricter",
    ),
    "min_agreement": (
        "Copy check: share of the overlap showing the same detail (%)",
        "Geometric verification of a candidate; higher is stricter",
    ),
    "clear_cut": (
        "Clear copy: hash distance that needs no further check",
        "Bits of 64; -1 checks every candidate geometrically",
    ),
    "clear_cut_dhash": (
        "Clear copy: how far the second hash may differ for that",
        "Bits of 64 of the difference hash",
    ),
}

_THRESHOLD_BOUNDS: Mapping[str, tuple[int, int]] = {
    "min_inliers": (4, 500),
    "min_agreement": (0, 100),
    "clear_cut": (-1, 64),
}

COPIES, FACES, DISCLOSURE, EXPERT = (
    "What a scan finding does to approval",
    "The face check",
    "AI disclosure",
    "Copy detection (expert)",
)


def _settings() -> tuple[Setting, ...]:
    out: list[Setting] = []
    out.append(
        Setting(
            ("disclosure", "approvable"),
            "AI disclosure a reviewer may approve",
            "Images whose disclosure is anything else cannot be approved",
            VERDICTS,
            sorted(v.value for v in DEFAULT_APPROVABLE),
            DISCLOSURE,
        )
    )
    for kind, (label, help_text) in _DISCLOSURE_KINDS.items():
        out.append(
            Setting(
                ("disclosure", "severity", kind),
                label,
                help_text,
                SEVERITY,
                DEFAULT_SEVERITIES[kind].label,
                DISCLOSURE,
            )
        )
    out.append(
        Setting(
            ("disclosure", "trust_anchors"),
            "Certificate authorities trusted for Content Credentials",
            "PEM files in the workspace; credentials signed under them count as trusted",
            FILES,
            [],
            DISCLOSURE,
        )
    )
    out.append(
        Setting(
            ("disclosure", "label"),
            "Visible AI label to look for in a corner",
            "An image file in the workspace; none: no visible label is required",
            FILE,
            None,
            DISCLOSURE,
        )
    )
    out.append(
        Setting(
            ("disclosure", "label_threshold"),
            "Visible AI label: how closely it must match (0 to 1)",
            "Higher is stricter",
            NUMBER,
            LABEL_THRESHOLD,
            DISCLOSURE,
            0.05,
            0.99,
        )
    )
    severities = {**DEFAULT_SEVERITY, **LIKENESS_SEVERITY}
    for kind, (label, help_text) in _SIMILARITY_KINDS.items():
        out.append(
            Setting(
                ("similarity", "severity", kind),
                label,
                help_text,
                SEVERITY,
                severities[kind].label,
                COPIES,
            )
        )
    likeness = LikenessSettings()
    out.append(
        Setting(
            ("similarity", "likeness", "enabled"),
            "Face check",
            "Compare the faces in each image with the models' real photos",
            SWITCH,
            likeness.enabled,
            FACES,
        )
    )
    out.append(
        Setting(
            ("similarity", "likeness", "threshold"),
            "Face check: distance at or below which two faces are one person",
            "From 0.2 to 1; lower is stricter",
            NUMBER,
            likeness.threshold,
            FACES,
            0.2,
            1.0,
        )
    )
    out.append(
        Setting(
            ("similarity", "likeness", "margin"),
            "Face check: how close two models may come before it is a tie",
            "From 0 to 0.3",
            NUMBER,
            likeness.margin,
            FACES,
            0.0,
            0.3,
        )
    )
    defaults = SimilarityThresholds()
    for f in fields(SimilarityThresholds):
        if f.name not in _THRESHOLDS:
            continue  # read by nothing: kept as signed, never shown
        label, help_text = _THRESHOLDS[f.name]
        low, high = _THRESHOLD_BOUNDS.get(f.name, (0, 64))
        out.append(
            Setting(
                ("similarity", f.name),
                label,
                help_text,
                COUNT,
                getattr(defaults, f.name),
                EXPERT,
                low,
                high,
            )
        )
    return tuple(out)


SETTINGS: tuple[Setting, ...] = _settings()
_BY_PATH = {s.path: s for s in SETTINGS}
#: The certificates of the trust anchors as the owner signed them (path -> PEM text), added by
#: ``services.disclosure.pin_trust_anchors``: said by their file names.
_PINNED = ("disclosure", "trust_anchor_certs")
#: Keys the tables may hold that are accepted but read by nothing (not shown, kept as signed).
_SILENT = frozenset(
    {("similarity", "undecided"), ("similarity", "detail_bits"), ("similarity", "detail_segments")}
)


def _lookup(tables: Mapping[str, Any], path: Sequence[str]) -> tuple[bool, Any]:
    node: Any = tables
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return False, None
        node = node[key]
    return True, node


def is_set(tables: Mapping[str, Any], setting: Setting) -> bool:
    """True when the tables set ``setting`` themselves (rather than leave the default)."""
    return _lookup(tables, setting.path)[0]


def value_of(tables: Mapping[str, Any], setting: Setting) -> Any:
    """The value in force: what the tables say, else the default."""
    found, value = _lookup(tables, setting.path)
    if not found:
        return setting.default
    if setting.kind == FILES and isinstance(value, str):
        return [value]
    if setting.kind == SEVERITY and isinstance(value, str):
        return value.strip().lower()  # the tables' spelling is case-insensitive
    return value


def _same(setting: Setting, a: Any, b: Any) -> bool:
    if setting.kind in (VERDICTS, FILES):
        return sorted(map(str, a or [])) == sorted(map(str, b or []))
    if setting.kind == NUMBER and isinstance(a, int | float) and isinstance(b, int | float):
        return abs(float(a) - float(b)) < 1e-9
    return bool(a == b)


def with_value(tables: Mapping[str, Any], setting: Setting, value: Any) -> dict[str, Any]:
    """New tables with ``setting`` set to ``value``.

    Nothing else changes: keys no setting describes are kept as they are, and a value equal to
    the one in force is not written (a default is never baked in by saving an unchanged form).
    """
    out: dict[str, Any] = copy.deepcopy(dict(tables))
    if _same(setting, value_of(tables, setting), value):
        return out
    node = out
    for key in setting.path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {} if not isinstance(child, Mapping) else dict(child)
            node[key] = child
        node = child
    last = setting.path[-1]
    if value is None:
        node.pop(last, None)
    else:
        node[last] = list(value) if isinstance(value, list | tuple) else value
    return out


def value_words(setting: Setting, value: Any) -> str:
    """``value`` of ``setting`` said plainly."""
    if setting.kind == SEVERITY:
        return SEVERITY_WORDS.get(str(value), str(value))
    if setting.kind == VERDICTS:
        items = [str(v) for v in value or []]
        known = [VERDICT_WORDS[v] for v in VERDICT_WORDS if v in items]
        other = [v for v in items if v not in VERDICT_WORDS]
        return ", ".join([*known, *other]) or "none (nothing can be approved)"
    if setting.kind == SWITCH:
        return "on" if value else "off"
    if setting.kind == FILES:
        return ", ".join(str(v) for v in value or []) or "none"
    if setting.kind == FILE:
        return str(value) if value else "none"
    if setting.kind == NUMBER and isinstance(value, int | float):
        return f"{float(value):g}"
    return str(value)


def unknown_keys(tables: Mapping[str, Any]) -> list[str]:
    """Dotted names of values in the tables that no setting describes (said as they are)."""
    out: list[str] = []

    def walk(prefix: tuple[str, ...], node: Any) -> None:
        if prefix in _BY_PATH or prefix in _SILENT or prefix == _PINNED:
            return
        if isinstance(node, Mapping):
            for key, value in node.items():
                walk((*prefix, str(key)), value)
            return
        out.append(".".join(prefix))

    for key, value in tables.items():
        walk((str(key),), value)
    return out


def policy_sentences(tables: Mapping[str, Any]) -> list[str]:
    """One sentence per setting the tables set, in reading order, then anything unknown.

    For example ``AI disclosure a reviewer may approve: fully disclosed, partly disclosed``.
    """
    lines = [
        f"{s.label}: {value_words(s, value_of(tables, s))}" for s in SETTINGS if is_set(tables, s)
    ]
    found, pinned = _lookup(tables, _PINNED)
    if found and isinstance(pinned, Mapping) and pinned:
        lines.append(
            "Certificates signed into these rules (a changed file in the folder does not count): "
            + ", ".join(str(name) for name in pinned)
        )
    for name in unknown_keys(tables):
        found, value = _lookup(tables, name.split("."))
        lines.append(f"{name}: {value}" if found else name)
    return lines
