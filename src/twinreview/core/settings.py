"""The workspace's settings in force, parsed once into frozen typed values.

The policy tables of ``twinreview.toml`` (``[similarity]`` with its ``severity`` and
``likeness`` sub-tables, ``[disclosure]``) are read by :func:`settings_from_config` from the
*effective* config: the file for a workspace without a signed roster, else the owner's signed
``policy`` entry (:func:`twinreview.core.roster.views.effective_config`). ``Workspace.open``
calls it once, so a typo is reported when the workspace opens, in one line, and everything
else (scan, disclosure, decisions, the app) receives ``ws.settings`` instead of parsing tables.

Pure: no files are read here. The files the disclosure policy names (trust anchors, label) are
read by ``services.disclosure``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from twinreview.core.disclosure.policy import DisclosurePolicy
from twinreview.core.errors import TwinreviewError
from twinreview.core.findings import DEFAULT_SEVERITY, Severity
from twinreview.core.likeness.model import DEFAULT_SEVERITY as LIKENESS_SEVERITY
from twinreview.core.likeness.model import LikenessSettings
from twinreview.core.similarity.match import SimilarityThresholds

CONFIG_SOURCE = "twinreview.toml"


class SettingsError(TwinreviewError, ValueError):
    """A settings table is malformed. ``str(err)`` is one line naming the table and key."""


def _default_severities() -> dict[str, Severity]:
    return {**DEFAULT_SEVERITY, **LIKENESS_SEVERITY}


@dataclass(frozen=True)
class WorkspaceSettings:
    """Everything the workspace's policy tables say, validated.

    Attributes:
        similarity: Thresholds of the copy detector (``[similarity]``).
        likeness: The face check (``[similarity.likeness]``).
        severities: Severity per scan finding kind, defaults overridden by
            ``[similarity.severity]``.
        disclosure: The disclosure policy (``[disclosure]``): severities, approvable verdicts,
            trust anchor and label paths as written.
    """

    similarity: SimilarityThresholds = field(default_factory=SimilarityThresholds)
    likeness: LikenessSettings = field(default_factory=LikenessSettings)
    severities: Mapping[str, Severity] = field(default_factory=_default_severities)
    disclosure: DisclosurePolicy = field(default_factory=DisclosurePolicy)

    def severity(self, kind: str) -> Severity:
        """The severity of a scan finding kind (warn for a kind the settings do not know)."""
        return self.severities.get(kind, Severity.WARN)


def settings_from_config(
    config: Mapping[str, Any], *, source: str = CONFIG_SOURCE
) -> WorkspaceSettings:
    """Parse the policy tables of an effective workspace config.

    Args:
        config: The whole parsed config (``{}`` when there is none).
        source: Where the tables come from, named in errors (the file, or the signed policy).

    Raises:
        SettingsError: one line, ``"<source>: <what is wrong>"``.
    """
    try:
        table = _table(config, "similarity")
        return WorkspaceSettings(
            similarity=SimilarityThresholds.from_config(table),
            likeness=LikenessSettings.from_config(table),
            severities=_severities(_table(table, "severity", "similarity.severity")),
            disclosure=DisclosurePolicy.from_config(config),
        )
    except ValueError as exc:
        # The parsers say what is wrong; only this function knows where the tables came from.
        raise SettingsError(f"{source}: {exc}") from None


def _table(config: Mapping[str, Any], name: str, label: str | None = None) -> Mapping[str, Any]:
    value = config.get(name, {})
    if not isinstance(value, Mapping):
        raise ValueError(f"[{label or name}] must be a table")
    return value


def _severities(table: Mapping[str, Any]) -> dict[str, Severity]:
    """Default severities, overridden by ``[similarity.severity]``.

    Raises:
        ValueError: for an unknown severity name.
    """
    out = _default_severities()
    for kind, value in table.items():
        try:
            out[str(kind)] = Severity.parse(str(value))
        except ValueError as exc:
            raise ValueError(f"[similarity.severity] {kind}: {exc}") from None
    return out
