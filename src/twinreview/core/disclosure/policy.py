"""The workspace's disclosure policy: the ``[disclosure]`` table of ``twinreview.toml``.

```toml
[disclosure]
trust_anchors = ["trust/brand-ca.pem", "trust/C2PA-TRUST-LIST.pem"]  # relative to the workspace
label = "brand/ai-label.png"          # optional visible label, looked for in the corners
label_threshold = 0.70                # optional NCC score for the label match
approvable = ["disclosed", "partial"] # verdicts a reviewer may approve

[disclosure.severity]                 # info | warn | block, per finding kind
missing_disclosure = "block"
partial_disclosure = "warn"
```

When the owner signs the policy, the certificates those files held are signed with it
(``trust_anchor_certs``, path -> PEM text, added by ``services.disclosure.pin_trust_anchors``):
from then on the signed text counts, not whatever the file holds, and an export carries them.

Parsing is pure (no file access): paths are returned as written and resolved by the service.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from twinreview.core.disclosure.label import DEFAULT_THRESHOLD
from twinreview.core.disclosure.model import Verdict
from twinreview.core.errors import TwinreviewError
from twinreview.core.findings import Severity

MISSING_DISCLOSURE = "missing_disclosure"
PARTIAL_DISCLOSURE = "partial_disclosure"
TAMPERED_PROVENANCE = "tampered_provenance"
DISCLOSURE_CONFLICT = "disclosure_conflict"
CREDENTIAL_PROBLEM = "credential_problem"
REMOTE_MANIFEST_UNVERIFIED = "remote_manifest_unverified"
MANIFEST_STRIPPED = "manifest_stripped"
LABEL_MISSING = "label_missing"
PEM_CERT = "-----BEGIN CERTIFICATE-----"

# Defaults: a missing disclosure and tampered provenance block (nothing unlabelled or forged may
# be published); a contradiction blocks too, because the verdict is "blocked" and approving it
# would publish an image whose own metadata says two things. Problems that leave the disclosure
# readable but weaker warn.
DEFAULT_SEVERITIES: Mapping[str, Severity] = {
    MISSING_DISCLOSURE: Severity.BLOCK,
    TAMPERED_PROVENANCE: Severity.BLOCK,
    DISCLOSURE_CONFLICT: Severity.BLOCK,
    PARTIAL_DISCLOSURE: Severity.WARN,
    CREDENTIAL_PROBLEM: Severity.WARN,
    REMOTE_MANIFEST_UNVERIFIED: Severity.WARN,
    MANIFEST_STRIPPED: Severity.WARN,
    LABEL_MISSING: Severity.WARN,
}

DEFAULT_APPROVABLE: frozenset[Verdict] = frozenset({Verdict.DISCLOSED, Verdict.PARTIAL})


class DisclosureConfigError(TwinreviewError, ValueError):
    """The ``[disclosure]`` table is malformed. ``str(err)`` is one line naming the key."""


@dataclass(frozen=True)
class DisclosurePolicy:
    """What the workspace requires.

    Attributes:
        severities: Severity per finding kind (defaults filled in).
        approvable: Verdicts that may be approved.
        trust_anchors: PEM file paths as written (relative to the workspace root).
        trust_anchor_certs: The PEM text of those files as the owner signed it, by path.
        label: Label image path as written, or None.
        label_threshold: NCC score from which the label counts as found.
    """

    severities: Mapping[str, Severity] = field(default_factory=lambda: dict(DEFAULT_SEVERITIES))
    approvable: frozenset[Verdict] = DEFAULT_APPROVABLE
    trust_anchors: tuple[str, ...] = ()
    trust_anchor_certs: Mapping[str, str] = field(default_factory=dict)
    label: str | None = None
    label_threshold: float = DEFAULT_THRESHOLD

    def severity(self, kind: str) -> Severity:
        """Severity for a finding kind (warn for kinds the policy does not know)."""
        return self.severities.get(kind, Severity.WARN)

    def is_approvable(self, verdict: Verdict | str) -> bool:
        """True when the policy lets a reviewer approve an image with this verdict."""
        try:
            return Verdict(verdict) in self.approvable
        except ValueError:
            return False

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DisclosurePolicy:
        """Build the policy from the whole parsed ``twinreview.toml`` (``{}`` when absent).

        Raises:
            DisclosureConfigError: for wrong types or unknown values, naming the key (not
                where the table came from: the caller knows whether that is the file or the
                signed policy, and says so).
        """
        table = config.get("disclosure", {})
        if not isinstance(table, Mapping):
            raise DisclosureConfigError("[disclosure] must be a table")
        known = {
            "trust_anchors",
            "trust_anchor_certs",
            "label",
            "label_threshold",
            "approvable",
            "severity",
        }
        unknown = sorted(set(table) - known)
        if unknown:
            raise DisclosureConfigError(
                f"unknown key disclosure.{unknown[0]} (expected one of {', '.join(sorted(known))})"
            )
        anchors = table.get("trust_anchors", [])
        if isinstance(anchors, str):
            anchors = [anchors]
        if not isinstance(anchors, list) or not all(isinstance(a, str) and a for a in anchors):
            raise DisclosureConfigError("disclosure.trust_anchors must be a list of file paths")
        certs = table.get("trust_anchor_certs", {})
        if not isinstance(certs, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) and PEM_CERT in v for k, v in certs.items()
        ):
            raise DisclosureConfigError(
                "disclosure.trust_anchor_certs must map file paths to PEM certificates"
            )
        label = table.get("label")
        if label is not None and (not isinstance(label, str) or not label):
            raise DisclosureConfigError("disclosure.label must be a file path")
        threshold = table.get("label_threshold", DEFAULT_THRESHOLD)
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, int | float)
            or not 0 < threshold < 1
        ):
            raise DisclosureConfigError(
                "disclosure.label_threshold must be a number between 0 and 1"
            )
        return cls(
            severities=_severities(table.get("severity", {})),
            approvable=_approvable(table.get("approvable")),
            trust_anchors=tuple(anchors),
            trust_anchor_certs=dict(certs),
            label=label,
            label_threshold=float(threshold),
        )


def _severities(table: Any) -> dict[str, Severity]:
    if not isinstance(table, Mapping):
        raise DisclosureConfigError("[disclosure.severity] must be a table")
    out = dict(DEFAULT_SEVERITIES)
    for kind, value in table.items():
        if kind not in DEFAULT_SEVERITIES:
            raise DisclosureConfigError(
                f"disclosure.severity.{kind} is not a disclosure finding "
                f"(expected one of {', '.join(DEFAULT_SEVERITIES)})"
            )
        try:
            out[kind] = Severity.parse(str(value))
        except ValueError:
            raise DisclosureConfigError(
                f"disclosure.severity.{kind} = {value!r} (expected info, warn or block)"
            ) from None
    return out


def _approvable(value: Any) -> frozenset[Verdict]:
    if value is None:
        return DEFAULT_APPROVABLE
    if not isinstance(value, list):
        raise DisclosureConfigError("disclosure.approvable must be a list of verdicts")
    out: set[Verdict] = set()
    for item in value:
        try:
            out.add(Verdict(str(item)))
        except ValueError:
            raise DisclosureConfigError(
                f"disclosure.approvable has {item!r} "
                "(expected disclosed, partial, missing or blocked)"
            ) from None
    return frozenset(out)
