"""Per-asset status under the consent policy, over the merged and verified decision logs.

``compute_status(ws)`` verifies every log (``core.logs.verify``), reads each model's consent policy
(``core.approval.policy``), hashes each asset as it is now, and evaluates every asset: cleared,
pending (which roles are missing), rejected (by whom, why) or blocked (policy or verification).

Which verification problems block which assets: a decision that cannot be trusted might be the
one that matters, so

- a signed roster that is missing, damaged or not from the pinned owner, or a log file that cannot
  be read, blocks every asset;
- a bad entry (bad signature, broken chain, replay, fork, unknown or revoked key, wrong role,
  malformed, out of order) blocks every asset its log's principal could have decided on (the models
  the signed roster lists for them, where their role counts under the policy), and the asset the
  entry names, if any: a deleted line leaves no trace of which asset it was about;
- a log that was rolled back, truncated or deleted (shorter than a head someone saw) blocks the
  same assets for its principal;
- a damaged end that cannot be read (a torn tail) may hide a veto: in a decision log it blocks
  every asset of the models that log's principal could decide on, in the signed roster every
  asset, until it is set aside; a whole entry that lacks only its newline counts as an entry and
  blocks nothing;
- a hand-edited roster view does not block: it is ignored.

Who may decide is judged by the roster each decision was signed under (``roster_seq``); the consent
policy comes from the model's own signed consent (``core.roster.log``). What may be approved is
judged by the policy in force now (``core.approval.rule``, the rule the app, the command line and
the signing service apply before they sign): an approval that lacks the override the policy in force
requires for the findings it recorded does not count.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from twinreview.core.approval.policy import (
    Decision,
    Evaluation,
    ModelPolicy,
    PolicyError,
    State,
    decision_from_payload,
    declared_categories,
    declared_uses,
    evaluate,
    policy_from_consent,
)
from twinreview.core.approval.rule import models_whose_word_is_needed, why_approval_does_not_count
from twinreview.core.errors import iso_utc
from twinreview.core.files import open_regular
from twinreview.core.logs.verify import (
    FORK,
    LOG_MISSING,
    ROLLED_BACK,
    ROSTER_PROBLEM,
    TORN_TAIL,
    UNREADABLE,
    Problem,
    VerifiedEntry,
    VerifyReport,
    entry_asset,
    entry_ts,
    verify_workspace,
)
from twinreview.core.roster.log import SignedRoster
from twinreview.core.roster.model import RosterState
from twinreview.core.settings import SettingsError, WorkspaceSettings
from twinreview.core.workspace import MAX_SIDECAR_BYTES, AssetRef, Workspace, read_sidecar
from twinreview.services.scan.cache import ResultCache

_CHUNK = 1 << 20
# Log entry kinds that say something about an asset: a decision, or its withdrawal.
DECISION_KINDS = frozenset({"decision", "withdraw"})


@dataclass(frozen=True)
class AssetStatus:
    """One asset's status.

    Attributes:
        path: Workspace-relative posix path.
        model_id: The ``assets/<model-id>/`` folder.
        sha256: Hex sha256 of the file now (None when it cannot be read).
        evaluation: The policy evaluation.
        history: Every verified decision about this path (any bytes), oldest first.
    """

    path: str
    model_id: str
    sha256: str | None
    evaluation: Evaluation
    history: tuple[Decision, ...] = ()

    @property
    def state(self) -> State:
        """Shortcut for ``evaluation.state``."""
        return self.evaluation.state

    def to_json(self) -> dict[str, Any]:
        """JSON form (one asset of ``twinreview status --json``)."""
        return {
            "path": self.path,
            "model": self.model_id,
            "sha256": self.sha256,
            **self.evaluation.to_json(),
            "summary": self.evaluation.summary(),
            "history": [d.to_json() for d in self.history],
        }


@dataclass(frozen=True)
class StatusReport:
    """The status of every asset of a workspace at one moment.

    Attributes:
        root: The workspace root.
        now: When the policy was evaluated (consent expiry is checked against it).
        assets: Per-asset status, by path.
        policies: Each model's policy, or why it cannot be read.
        verification_ok: True when every log verified cleanly.
        problems: Verification problems (all of them, blocking or not).
        orphans: Latest verified decision about each path that is no longer in the workspace.
        people: Principal -> display name, from the roster (for "rejected by whom").
    """

    root: Path
    now: dt.datetime
    assets: tuple[AssetStatus, ...]
    policies: Mapping[str, ModelPolicy | PolicyError] = field(default_factory=dict)
    verification_ok: bool = True
    problems: tuple[Problem, ...] = ()
    orphans: tuple[Decision, ...] = ()
    people: Mapping[str, str] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Number of assets per state (every state listed, zero included)."""
        out = {s.value: 0 for s in State}
        for a in self.assets:
            out[a.state.value] += 1
        return out

    def get(self, path: str) -> AssetStatus | None:
        """The status of the asset at workspace-relative ``path``, if it is one."""
        return next((a for a in self.assets if a.path == path), None)

    def to_json(self) -> dict[str, Any]:
        """The document ``twinreview status --json`` prints."""
        return {
            "workspace": str(self.root),
            "evaluated_at": iso_utc(self.now),
            "counts": self.counts(),
            "verification": {
                "ok": self.verification_ok,
                "problems": [p.to_json() for p in self.problems],
            },
            "policies": {
                mid: (p.to_json() if isinstance(p, ModelPolicy) else {"error": str(p)})
                for mid, p in sorted(self.policies.items())
            },
            "assets": [a.to_json() for a in self.assets],
            "orphans": [d.to_json() for d in self.orphans],
            "people": dict(sorted(self.people.items())),
        }


def verified_decisions(report: VerifyReport) -> list[Decision]:
    """Every verified ``decision`` entry (each once across log copies), oldest first.

    Entries that verify but do not parse as decisions (a signed, malformed payload) are left out:
    they cannot say what was decided.
    """
    return _decisions([e for e in report.merged() if e.kind in DECISION_KINDS])


def _decisions(entries: Iterable[VerifiedEntry]) -> list[Decision]:
    out: list[Decision] = []
    for entry in entries:
        try:
            out.append(
                decision_from_payload(
                    entry.payload, roster_seq=entry.roster_seq, entry_hash=entry.hash
                )
            )
        except ValueError:
            continue
    out.sort(key=lambda d: (d.ts, d.log, d.seq))
    return out


def _entry_order(entry: VerifiedEntry) -> tuple[str, str, int]:
    return (entry_ts(entry), entry.log or "", entry.seq or 0)


def model_policies(ws: Workspace, roster: SignedRoster) -> dict[str, ModelPolicy | PolicyError]:
    """Each model's policy from her own signed consent (or why nothing can be cleared)."""
    state = roster.current
    out: dict[str, ModelPolicy | PolicyError] = {}
    for mid in ws.models:
        if state is None:
            out[mid] = PolicyError("the workspace has no intact signed roster")
        else:
            out[mid] = policy_from_consent(mid, state.consent_for(mid))
    return out


def eligible_for(state: RosterState | None, model_id: str) -> dict[str, str]:
    """Principal -> role for everyone the roster state allows to decide for ``model_id``."""
    if state is None:
        return {}
    return {p.principal: p.role for p in state.people.values() if model_id in p.models}


def valid_under_roster(d: Decision, roster: SignedRoster) -> bool:
    """True when the roster the decision was signed under let its principal decide its model."""
    if d.roster_seq is None or not 0 <= d.roster_seq < len(roster.states):
        return False
    person = roster.states[d.roster_seq].person(d.principal)
    return person is not None and person.role == d.role and d.model_id in person.models


def approval_judge(ws: Workspace, roster: SignedRoster) -> Callable[[Decision], str | None]:
    """The one approval rule (``core.approval.rule``) under the policy signed now, for status."""
    try:
        settings = ws.settings_under(roster)
    except SettingsError as exc:
        broken = f"the signed policy cannot be read ({exc}); no approval counts"
        return lambda d: broken
    return approval_rule(settings)


def approval_rule(settings: WorkspaceSettings) -> Callable[[Decision], str | None]:
    """Why a decision's approval does not count under ``settings`` (None: it counts).

    The one approval rule (``core.approval.rule``) as ``status`` and ``check-published --export``
    apply it: a model person's approval speaks her own word for the model it was signed for.
    """
    return lambda d: why_approval_does_not_count(
        d.findings,
        d.override,
        settings,
        frozenset({d.model_id}) if d.role == "model" else frozenset(),
    )


def with_epoch(d: Decision, state: RosterState | None) -> Decision:
    """``d`` with the number of resets of its signer's key for its model before it was signed."""
    if state is None or d.roster_seq is None:
        return d
    epoch = sum(1 for r in state.resets_of(d.principal, d.model_id) if r.seq <= d.roster_seq)
    return replace(d, epoch=epoch) if epoch else d


def cached_sha256(cache: ResultCache, asset: AssetRef) -> str:
    """An asset's sha256 from the scan cache's stat fast path; hashed (and recorded) on a miss.

    Raises:
        OSError: when it cannot be read.
    """
    st = asset.path.stat()
    sha = cache.lookup_sha(asset.path, st)
    if sha is None:
        sha = sha256_file(asset.path)
        cache.record_sha(asset.path, st, sha)
    return sha


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks.

    Raises:
        OSError: when it cannot be read.
    """
    digest = hashlib.sha256()
    with open_regular(path) as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def compute_status(
    ws: Workspace,
    *,
    report: VerifyReport | None = None,
    now: dt.datetime | None = None,
    sha256_of: Callable[[AssetRef], str] | None = None,
    assets: Sequence[AssetRef] | None = None,
) -> StatusReport:
    """Evaluate every asset of ``ws`` (or ``assets``) under its model's consent policy.

    Args:
        ws: The workspace.
        report: A verification report to reuse (``services.trust.Verifier`` makes one that
            knows this device's rollback record); a plain verification when omitted.
        now: The evaluation time (default: the current UTC time).
        sha256_of: Returns an asset's current sha256 (e.g. from the scan cache's stat fast path);
            default: read and hash the file. May raise ``OSError``.
        assets: Evaluate only these (e.g. the few a rescan found changed); default: every
            asset of the workspace. An asset's status depends on its own file and the logs
            alone, so a subset gets the statuses the whole would give it.

    Returns:
        The report; never raises for bad logs, policies or files (they show up in it).
    """
    # A long history makes many small objects and no cycles (see core.logs.verify): the cyclic
    # collector runs once, afterwards, not again and again while they are made.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _compute_status(ws, report, now, sha256_of, assets)
    finally:
        if was_enabled:
            gc.enable()


def _compute_status(
    ws: Workspace,
    report: VerifyReport | None,
    now: dt.datetime | None,
    sha256_of: Callable[[AssetRef], str] | None,
    only: Sequence[AssetRef] | None = None,
) -> StatusReport:
    if report is None:
        report = verify_workspace(ws.root)
    roster = report.roster
    state = roster.current
    when = now or dt.datetime.now(dt.UTC)
    hash_of = sha256_of or (lambda a: sha256_file(a.path))
    policies = model_policies(ws, roster)
    assets = sorted(ws.iter_assets() if only is None else only, key=lambda a: a.rel)
    wanted = {a.rel for a in assets}
    # Orphans are decisions about files that are gone, whichever assets were asked for.
    present = wanted if only is None else {a.rel for a in ws.iter_assets()}
    # Read in full only the decisions about the assets asked for; of the files that are gone
    # only the latest per path (the orphans): a long history costs little once its logs are
    # verified.
    entries: dict[str, list[VerifiedEntry]] = {}
    for entry in report.merged():
        if entry.kind in DECISION_KINDS:
            asset_path = entry_asset(entry)
            if asset_path is not None:
                entries.setdefault(asset_path, []).append(entry)
    by_path: dict[str, list[Decision]] = {}
    orphan_list: list[Decision] = []
    for path, found in sorted(entries.items()):
        if path in wanted:
            by_path[path] = _decisions(found)
        elif path not in present:
            latest = _decisions([max(found, key=_entry_order)])
            orphan_list.extend(latest)

    blocking = _blocking_problems(report, roster, policies, assets)
    judge = approval_judge(ws, roster)
    folder_names = {m: info.display_name for m, info in ws.models.items()}
    out: list[AssetStatus] = []
    for asset in assets:
        policy = policies.get(asset.model_id) or PolicyError(
            f"model {asset.model_id!r} is not in this workspace (no models/{asset.model_id} folder)"
        )
        history = tuple(by_path.get(asset.rel, ()))
        try:
            sha = hash_of(asset)
        except OSError as exc:
            out.append(
                AssetStatus(
                    asset.rel,
                    asset.model_id,
                    None,
                    Evaluation(
                        State.BLOCKED,
                        blocked_by="file",
                        problems=(f"The file cannot be read ({exc.strerror or exc}).",),
                    ),
                    history,
                )
            )
            continue
        sidecar = read_sidecar(asset.sidecar)[0] if asset.sidecar is not None else None
        sidecar_sha = sidecar_sha256(asset.sidecar)
        counted = [with_epoch(d, state) for d in history if valid_under_roster(d, roster)]
        also = also_shown(state, asset.model_id, history, sha, folder_names)
        eligible = eligible_for(state, asset.model_id)
        for d in counted:
            eligible.setdefault(d.principal, d.role)
        evaluation = evaluate(
            asset=asset.rel,
            current_sha256=sha,
            decisions=counted,
            policy=policy,
            eligible=eligible,
            now=when,
            uses=declared_uses(sidecar),
            verification_problems=blocking.get(asset.rel, ()),
            sidecar_sha256=sidecar_sha,
            categories=declared_categories(sidecar),
            judge=judge,
            also=also,
        )
        out.append(AssetStatus(asset.rel, asset.model_id, sha, evaluation, history))

    orphans = tuple(orphan_list)
    return StatusReport(
        root=ws.root,
        now=when,
        assets=tuple(out),
        policies=policies,
        verification_ok=report.ok,
        problems=tuple(report.problems),
        orphans=orphans,
        people={p.principal: p.display_name for p in state.people.values()} if state else {},
    )


def sidecar_sha256(path: Path | None) -> str | None:
    """sha256 of an asset's sidecar bytes (None when it has none or it cannot be read)."""
    if path is None:
        return None
    try:
        if not path.is_file() or path.stat().st_size > MAX_SIDECAR_BYTES:
            return "unreadable"
        return sha256_file(path)
    except OSError:
        return "unreadable"


def _blocking_problems(
    report: VerifyReport,
    roster: SignedRoster,
    policies: Mapping[str, ModelPolicy | PolicyError],
    assets: Sequence[AssetRef],
) -> dict[str, tuple[str, ...]]:
    """Asset path -> sentences for the verification problems that make it untrustworthy."""
    every: list[str] = []
    keys = roster.known_keys()
    per_asset: dict[str, list[str]] = {}

    def block_principals(principals: set[str], named: set[str], sentence: str) -> None:
        models = _models_of(principals, roster, policies)
        for a in assets:
            if a.rel in named or a.model_id in models:
                per_asset.setdefault(a.rel, []).append(sentence)

    for p in report.problems:
        if p.kind == ROSTER_PROBLEM:
            every.append(f"The signed roster cannot be trusted ({p.message}); no decision counts.")
        elif p.kind == UNREADABLE:
            every.append(f"{p.file}: {p.message}; its decisions are unknown.")
        elif p.kind in (ROLLED_BACK, LOG_MISSING) or (p.kind == FORK and p.line is None):
            log = _log_in(p.message)
            if log == "roster" or p.file.startswith("roster/"):
                every.append(f"{p.message}; no decision can be trusted until it is restored.")
                continue
            holder = keys.get(log) if log else None
            principals = {holder[0]} if holder else set()
            principals |= _file_principals(report, p.file)
            sentence = f"{p.message}; see 'twinreview verify'."
            model = _model_name(roster, holder[0]) if holder and p.kind != FORK else None
            if model is not None:
                sentence = (
                    f"Some of {model}'s own decisions may be missing ({p.message}). Her images "
                    "stay blocked until she puts them back from her own device ('twinreview "
                    "verify --restore') or signs herself that nothing is missing ('twinreview "
                    "roster accept')."
                )
            if principals:
                block_principals(principals, set(), sentence)
            else:
                every.append(sentence)

    if roster.torn_tail and not roster.tail_counted:
        every.append(
            "The signed roster ends with a line that cannot be read (it may be a model's "
            "withdrawal of her consent, or a revocation): no image can be cleared until it is set "
            "aside ('twinreview roster repair', or the next roster change)."
        )

    bad_by_file: dict[str, list[tuple[str, int | None, str | None, str | None]]] = {}
    good_at: set[tuple[str | None, int | None]] | None = None
    for e in report.entries:
        if e.ok:
            continue
        if e.state == TORN_TAIL:
            if good_at is None:
                good_at = {(g.log, g.seq) for g in report.merged()}
            if (e.log, e.seq) in good_at:
                continue  # another copy of the log holds that entry whole: it counts there
            # A damaged end may be a decision, a veto too: whose, nobody can read.
            signers = _file_principals(report, e.file)
            who = ", ".join(sorted(signers)) or "an unknown signer"
            sentence = (
                f"{e.file} ends with a line that cannot be read (it may be a decision of {who}): "
                f"the images {who} may decide for stay blocked until that device's next entry "
                "sets it aside, or the line is put back ('twinreview verify --restore')."
            )
            if signers:
                block_principals(signers, set(), sentence)
            else:
                every.append(sentence)  # nothing says whose log it is: any image could be hers
            continue
        asset = e.payload.get("asset") if e.kind in DECISION_KINDS else None
        bad_by_file.setdefault(e.file, []).append(
            (e.state, e.seq, e.principal, asset if isinstance(asset, str) else None)
        )

    for file, bad in sorted(bad_by_file.items()):
        kinds = sorted({state for state, *_ in bad})
        seqs = sorted({seq for _, seq, _, _ in bad if seq is not None})
        where = f" at seq {', '.join(map(str, seqs[:5]))}" if seqs else ""
        sentence = (
            f"{file} failed verification ({', '.join(kinds)}{where}): decisions in it cannot be "
            "trusted; see 'twinreview verify'."
        )
        named = {asset for *_, asset in bad if asset is not None}
        block_principals(
            {principal for _, _, principal, _ in bad if principal is not None}
            | _file_principals(report, file),
            named,
            sentence,
        )

    out: dict[str, tuple[str, ...]] = {}
    for a in assets:
        found = every + per_asset.get(a.rel, [])
        if found:
            out[a.rel] = tuple(dict.fromkeys(found))
    return out


def also_shown(
    state: RosterState | None,
    model_id: str,
    history: Iterable[Decision],
    sha: str,
    folder_names: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Other models an image's bytes ``sha`` may show, by the findings any decision recorded.

    ``status`` and ``check-published --export`` both ask this (of the workspace's decisions, or
    of an export's), so an image cleared in neither place is cleared in the other.

    Args:
        state: The signed roster's current state (None: no roster).
        model_id: The image's own model (never listed).
        history: Decisions about the image (any bytes; those about other bytes are left out).
        sha: The image's bytes (hex sha256).
        folder_names: Model id -> the display name of her folder, when the roster names no
            person for her.

    Returns:
        Model id -> her name (the roster's first): each one's own approval is needed too.
    """
    found = models_whose_word_is_needed(
        f for d in history if d.sha256.lower() == sha.lower() for f in d.findings
    )
    out: dict[str, str] = {}
    for model in found:
        if model == model_id:
            continue
        holder = state.model_of.get(model) if state is not None else None
        person = state.persons.get(holder) if state is not None and holder else None
        out[model] = (
            person.display_name
            if person is not None and person.display_name
            else (folder_names or {}).get(model) or model
        )
    return out


def _model_name(roster: SignedRoster, principal: str) -> str | None:
    """The display name of ``principal`` when she is (or was) a model person, else None."""
    state = roster.current
    if state is None or principal not in state.model_of.values():
        return None
    person = state.persons.get(principal)
    return person.display_name if person is not None else principal


def _log_in(message: str) -> str | None:
    if message.startswith("the signed roster"):
        return "roster"
    if message.startswith("log "):
        return message.split()[1]
    return None


def _file_principals(report: VerifyReport, file: str) -> set[str]:
    return {e.principal for e in report.entries if e.file == file and e.principal is not None}


def _models_of(
    principals: Iterable[str],
    roster: SignedRoster,
    policies: Mapping[str, ModelPolicy | PolicyError],
) -> set[str]:
    """Models on which one of ``principals`` has (or had) a say under the policy."""
    models: set[str] = set()
    for principal in principals:
        for state in roster.states:
            person = state.person(principal)
            if person is None:
                continue  # not on the roster then: their decisions never count
            for mid in person.models:
                policy = policies.get(mid)
                if (
                    not isinstance(policy, ModelPolicy)
                    or person.role in policy.required_roles
                    or (policy.model_veto and person.role == "model")
                ):
                    models.add(mid)
    return models
