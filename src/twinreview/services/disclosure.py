"""Disclosure checks for a workspace: built once from its disclosure policy.

:class:`DisclosureService` takes the workspace's parsed ``[disclosure]`` policy
(``ws.settings.disclosure``), loads the trust anchors (the certificates the owner signed with the
policy, else the PEM files it names) and the label image (paths relative to the workspace),
builds the offline c2pa context once, and then inspects any number of files from worker threads.
It satisfies the scan's ``DisclosureInspector`` protocol (``cache_key``, ``inspect(data, path)``,
``findings(report)``).

A setting at fault is reported with where the policy came from: ``twinreview.toml`` for a
workspace without a signed roster, else the owner's signed policy
(:attr:`twinreview.core.workspace.Workspace.settings_source`).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twinreview.core.disclosure import (
    DisclosureConfigError,
    DisclosurePolicy,
    DisclosureReport,
    InspectSettings,
    LabelError,
    LabelTemplate,
    Verdict,
    disclosure_findings,
    inspect_bytes,
    xmp_sidecar_paths,
)
from twinreview.core.disclosure.inspect import MAX_FILE_BYTES
from twinreview.core.disclosure.model import C2paReport, C2paState, XmpReport
from twinreview.core.disclosure.policy import PEM_CERT
from twinreview.core.disclosure.xmp import MAX_PACKET_BYTES
from twinreview.core.files import open_regular, resolve_inside
from twinreview.core.findings import Finding
from twinreview.core.settings import CONFIG_SOURCE

if TYPE_CHECKING:
    from twinreview.core.workspace import Workspace

# Bump when the inspection logic changes what a report says, so cached reports are recomputed.
LOGIC_VERSION = "2"

# A PEM bundle larger than this is not a trust list (the C2PA list is a few hundred kB).
MAX_PEM_BYTES = 8 * 1024 * 1024
MAX_LABEL_BYTES = 32 * 1024 * 1024


class DisclosureService:
    """Inspect files for AI disclosure under one workspace's policy. Thread-safe.

    Args:
        settings: Shared inspection settings (c2pa context, label).
        policy: Severities and approvable verdicts.
        cache_key: Identifies the settings, for caching reports.
    """

    def __init__(self, settings: InspectSettings, policy: DisclosurePolicy, cache_key: str) -> None:
        self._settings = settings
        self._policy = policy
        self._cache_key = cache_key

    @classmethod
    def default(cls) -> DisclosureService:
        """A service without a workspace: no trust anchors, no label, default severities."""
        return cls.for_policy(None, DisclosurePolicy())

    @classmethod
    def for_workspace(cls, ws: Workspace) -> DisclosureService:
        """Build the service for the disclosure policy in force in ``ws``.

        Raises:
            DisclosureConfigError: with one line naming where the policy came from, and the key
                or file at fault.
        """
        return cls.for_policy(ws.root, ws.settings.disclosure, source=ws.settings_source)

    @classmethod
    def for_policy(
        cls, root: Path | None, policy: DisclosurePolicy, *, source: str = CONFIG_SOURCE
    ) -> DisclosureService:
        """Build the service for a workspace's disclosure policy.

        Args:
            root: The workspace folder, against which relative paths are resolved.
            policy: The parsed policy (``ws.settings.disclosure``).
            source: Where the policy came from, named in errors (``twinreview.toml``, or the
                signed policy).

        Raises:
            DisclosureConfigError: with one line naming the source, and the key or file at fault.
        """
        digest = hashlib.sha256(f"logic={LOGIC_VERSION}\n".encode())
        pems: list[str] = []
        for name in policy.trust_anchors:
            signed = policy.trust_anchor_certs.get(name)
            # What the owner signed counts, not what a writer of the folder put there since.
            data = (
                signed.encode("ascii", errors="replace")
                if signed is not None
                else _read_config_file(
                    root, name, f"{source}: disclosure.trust_anchors", MAX_PEM_BYTES
                )
            )
            text = data.decode("ascii", errors="replace")
            if "-----BEGIN CERTIFICATE-----" not in text:
                raise DisclosureConfigError(
                    f"{source}: disclosure.trust_anchors: {name} holds no PEM certificate"
                )
            pems.append(text.strip() + "\n")
            digest.update(b"anchor\n" + data)
        label = None
        if policy.label is not None:
            data = _read_config_file(
                root, policy.label, f"{source}: disclosure.label", MAX_LABEL_BYTES
            )
            try:
                label = LabelTemplate.from_bytes(data)
            except LabelError as exc:
                raise DisclosureConfigError(
                    f"{source}: disclosure.label: {policy.label}: {exc}"
                ) from None
            digest.update(b"label\n" + data + f"\n{policy.label_threshold}".encode())
        try:
            settings = InspectSettings.offline(
                trust_anchors_pem="".join(pems) or None,
                label=label,
                label_threshold=policy.label_threshold,
            )
        except ValueError as exc:
            raise DisclosureConfigError(f"{source}: disclosure.trust_anchors: {exc}") from None
        return cls(settings, policy, digest.hexdigest()[:24])

    @property
    def cache_key(self) -> str:
        """Changes whenever the trust anchors, the label or the logic change."""
        return self._cache_key

    @property
    def policy(self) -> DisclosurePolicy:
        """The workspace's disclosure policy (severities, approvable verdicts)."""
        return self._policy

    @property
    def settings(self) -> InspectSettings:
        """The shared inspection settings."""
        return self._settings

    def is_approvable(self, verdict: Verdict | str) -> bool:
        """True when the workspace policy lets a reviewer approve this verdict."""
        return self._policy.is_approvable(verdict)

    def inspect_report(self, data: bytes, path: Path | None = None) -> DisclosureReport:
        """Inspect bytes already read; reads the ``.xmp`` sidecar next to ``path`` if any."""
        sidecar = read_xmp_sidecar(path) if path is not None else None
        return inspect_bytes(
            data,
            path_hint=str(path) if path is not None else None,
            sidecar_xmp=sidecar,
            settings=self._settings,
        )

    def sidecar_key(self, path: Path) -> str:
        """A digest of the ``.xmp`` sidecar next to ``path`` ("" when none).

        The report depends on the sidecar as well as on the file, so the scan adds this to the
        file's cache key: editing a sidecar makes the report be computed again.
        """
        sidecar = read_xmp_sidecar(path)
        return "" if sidecar is None else hashlib.sha256(sidecar).hexdigest()[:24]

    def inspect(self, data: bytes, path: Path) -> DisclosureReport:
        """Scan-worker entry point: the report. Never raises."""
        return self.inspect_report(data, path)

    def inspect_file(self, path: Path) -> tuple[DisclosureReport, str | None]:
        """Read and inspect one file; for ``twinreview inspect``.

        Returns:
            The report and, when the file could not be read at all, why (else None).
        """
        try:
            st = path.stat()
        except OSError as exc:
            return unreadable_report(_os_reason(exc)), _os_reason(exc)
        if stat.S_ISDIR(st.st_mode):
            return unreadable_report("it is a folder, not a file"), "it is a folder, not a file"
        if not stat.S_ISREG(st.st_mode):
            reason = "not a regular file (a pipe, socket or device)"
            return unreadable_report(reason), reason
        if st.st_size > MAX_FILE_BYTES:
            reason = f"the file is {st.st_size // (1024 * 1024)} MB, too large to be a photo"
            return unreadable_report(reason), reason
        try:
            with open_regular(path) as fh:
                data = fh.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            return unreadable_report(_os_reason(exc)), _os_reason(exc)
        report = self.inspect_report(data, path)
        return report, report.error

    def findings(self, report: DisclosureReport) -> list[Finding]:
        """Findings for a report under the workspace's policy and trust list."""
        return disclosure_findings(
            report, self._policy, trust_configured=self._settings.trust_configured
        )


def pin_trust_anchors(root: Path, tables: Mapping[str, Any]) -> dict[str, Any]:
    """Policy tables to sign, with the certificates their trust anchor files hold now.

    The owner signs the certificates themselves (``disclosure.trust_anchor_certs``), so that a
    writer of the folder cannot swap a trust anchor later, and an export carries them for
    ``check-published``. A file that cannot be read, or holds no certificate, is left to the
    scan, which reports it.
    """
    out = dict(tables)
    disclosure = out.get("disclosure")
    if not isinstance(disclosure, Mapping):
        return out
    names = disclosure.get("trust_anchors", [])
    names = [names] if isinstance(names, str) else names
    certs: dict[str, str] = {}
    for name in names if isinstance(names, list) else []:
        if not isinstance(name, str) or not name:
            continue
        try:
            setting = f"{CONFIG_SOURCE}: disclosure.trust_anchors"
            text = _read_config_file(root, name, setting, MAX_PEM_BYTES).decode("ascii")
        except (DisclosureConfigError, UnicodeDecodeError):
            continue
        if PEM_CERT in text:
            certs[name] = text.strip() + "\n"
    table = {k: v for k, v in disclosure.items() if k != "trust_anchor_certs"}
    if certs:
        table["trust_anchor_certs"] = certs
    out["disclosure"] = table
    return out


def read_xmp_sidecar(path: Path) -> bytes | None:
    """Return the bytes of ``name.xmp`` or ``name.ext.xmp`` next to ``path``, if one exists.

    Symbolic links are not followed (a sidecar must not lead out of the workspace), and a file
    larger than the XMP packet limit is ignored. Never raises.
    """
    if path.suffix.lower() == ".xmp":
        return None
    for candidate in xmp_sidecar_paths(path):
        candidate = Path(candidate)
        try:
            st = os.lstat(candidate)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_PACKET_BYTES:
            continue
        try:
            with open_regular(candidate) as fh:
                return fh.read(MAX_PACKET_BYTES + 1)
        except OSError:
            continue
    return None


def unreadable_report(reason: str) -> DisclosureReport:
    """The report for a file that could not be read at all."""
    return DisclosureReport(
        verdict=Verdict.MISSING,
        c2pa=C2paReport(C2paState.ABSENT),
        xmp=XmpReport(),
        error=reason,
        notes=(f"The file could not be read: {reason}.",),
    )


def _read_config_file(root: Path | None, name: str, setting: str, limit: int) -> bytes:
    """The file a setting names; ``setting`` (``<source>: <key>``) starts each error."""
    if root is None:
        path = Path(name)
    else:
        # A setting names a file of the workspace: never /etc/shadow, never a link out of it.
        try:
            path = resolve_inside(root, name)
        except ValueError:
            raise DisclosureConfigError(
                f"{setting}: {name} is outside the workspace; name a file inside it"
            ) from None
    try:
        with open_regular(path) as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise DisclosureConfigError(
            f"{setting}: cannot read {name} ({exc.strerror or exc})"
        ) from None
    if len(data) > limit:
        raise DisclosureConfigError(f"{setting}: {name} is too large")
    return data


def _os_reason(exc: OSError) -> str:
    return f"cannot read the file ({exc.strerror or exc})"
