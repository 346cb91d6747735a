"""The findings panel: findings as plain sentences with evidence, disclosure, file facts, history.

A read-only rich-text view built from the scan result and the asset's status. Links carry the
evidence: clicking one asks the compare view to show that pair.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QSize, QUrl, Signal
from PySide6.QtGui import QPalette, QPixmap, QTextDocument
from PySide6.QtWidgets import QTextBrowser, QWidget

from twinreview.core.approval.policy import WITHDRAW, Decision, State
from twinreview.core.disclosure import DisclosureReport
from twinreview.core.findings import Finding, Severity
from twinreview.core.likeness.model import AMBIGUOUS, OTHER, OWN, Likeness, sentence, strength
from twinreview.core.reasons import REASON_CODES, UNKNOWN_REASON, reasons_text
from twinreview.ui.app_errors import app_message
from twinreview.ui.faces import likeness_of
from twinreview.ui.items import AssetItem
from twinreview.ui.resources import icon
from twinreview.ui.status_words import NO_RESULTS

EVIDENCE_SCHEME = "evidence"
# A link that shows every finding of the asset on screen (see _PER_KIND).
SHOW_ALL_URL = "action:show-all"
# A link that unfolds (and folds again) the raw evidence: distances, thresholds, inliers.
DETAILS_URL = "action:details"
# Findings of one kind shown in full; the rest of that kind become one line of links until the
# reviewer asks for all. A near-duplicate batch can give one image dozens of identical findings:
# dozens of paragraphs bury the one that matters and take tens of milliseconds to lay out.
_PER_KIND = 3
# <img src="icon:NAME"> shows the bundled icon NAME, rendered once per size (see loadResource).
ICON_SCHEME = "icon"

C2PA_MEANING: Mapping[str, str] = {
    "absent": "The file carries no Content Credentials (C2PA).",
    "remote-only": "The file points to Content Credentials stored online. They were not fetched: "
    "twinreview works offline, so they could not be checked.",
    "unreadable": "The file has Content Credentials, but they cannot be read "
    "(damaged or unsupported).",
    "valid-untrusted": "The Content Credentials are intact, but the signer is not on a trust list "
    "configured for this workspace. Intact does not mean trustworthy.",
    "trusted": "The Content Credentials are intact and signed by a signer this workspace trusts.",
    "invalid-integrity": "The image was changed after it was signed: the credentials no longer "
    "match the pixels (tampered).",
    "invalid-credential-only": "The image matches its credentials, but the signing certificate "
    "is expired, revoked or otherwise invalid.",
}

VERDICT_MEANING: Mapping[str, str] = {
    "disclosed": "The image says it is AI-made, in its Content Credentials and in its metadata.",
    "partial": "The image says it is AI-made in only one place.",
    "missing": "Nothing in the file says that the image is AI-made.",
    "blocked": "The disclosure cannot be trusted (tampered or contradictory).",
}

_SEVERITY_ICON = {
    Severity.BLOCK: "severity-block",
    Severity.WARN: "severity-warn",
    Severity.INFO: "severity-info",
}
_SEVERITY_WORD = {Severity.BLOCK: "Blocking", Severity.WARN: "Warning", Severity.INFO: "Note"}
_DECISION_WORD = {"approve": "Approved", "reject": "Rejected", WITHDRAW: "Withdrawn"}
# Evidence keys already said by the sentence or shown as a link.
# Face boxes are drawn on the images instead (fractions mean nothing to a reader).
# So are mappings and corners (drawn on the images in the compare view).
_HIDDEN_EVIDENCE = frozenset(
    {
        "reference",
        "box",
        "reference_box",
        "faces",
        "homography",
        "asset_region",
        "reference_region",
        "query_region",
        "region",
        "keypoints",
    }
)


def _e(text: object) -> str:
    return html.escape(str(text))


def human_size(size: int | None) -> str:
    """``123456`` -> ``120.6 KiB``."""
    if size is None:
        return "unknown"
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"


def _icon_img(name: str, size: int) -> str:
    return f'<img src="{ICON_SCHEME}:{name}" width="{size}" height="{size}">'


def _when(ts: dt.datetime) -> str:
    return ts.astimezone().strftime("%Y-%m-%d %H:%M")


class FindingsPanel(QTextBrowser):
    """Shows one asset's findings, disclosure, file facts, status and decision history.

    Signals:
        evidence_requested(str): a finding's evidence link was clicked (the reference's rel).
    """

    evidence_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.anchorClicked.connect(self._on_anchor)
        self.setToolTip(
            "What the scan found about this asset; click a link to compare the evidence"
        )
        self.setMinimumWidth(200)
        self._item: AssetItem | None = None
        self._html = ""
        self._show_all_of: str | None = None  # rel of the asset whose findings are all shown
        #: Raw evidence unfolded ("Details"): kept from one asset to the next until folded.
        self.details = False
        self._icons: dict[tuple[str, int, float], QPixmap] = {}
        #: Model display names by id, for the likeness sentence.
        self.model_names: dict[str, str] = {}
        #: Models the reviewer *is* (a model reviewing her own twin): "Looks like you".
        self.you_models: frozenset[str] = frozenset()
        self.show_item(None)

    def focusNextPrevChild(self, next: bool) -> bool:
        """Tab leaves the panel (the window moves between its areas) instead of walking links."""
        return QWidget.focusNextPrevChild(self, next)

    def show_item(self, item: AssetItem | None) -> None:
        """Render ``item`` (None: an empty hint)."""
        self._item = item
        html = (
            "<p>Select an asset to see what the scan found.</p>"
            if item is None
            else self.to_html(item)
        )
        if html != self._html:  # laying out rich text is the costly part: skip it when unchanged
            self._html = html
            self.setHtml(html)

    def loadResource(self, type: int, name: QUrl | str) -> Any:
        """Serve ``icon:NAME`` images from the bundled icons, rendered once per size.

        Every ``setHtml`` empties the document's resources; without this each asset shown would
        read and render the SVG files again.
        """
        if isinstance(name, str):
            name = QUrl(name)
        if type == QTextDocument.ResourceType.ImageResource and name.scheme() == ICON_SCHEME:
            size = max(14, self.fontMetrics().height())
            dpr = self.devicePixelRatioF()
            key = (name.path(), size, dpr)
            pixmap = self._icons.get(key)
            if pixmap is None:
                pixmap = icon(name.path()).pixmap(QSize(size, size), dpr)
                self._icons[key] = pixmap
            return pixmap
        return super().loadResource(type, name)

    def refresh(self) -> None:
        """Re-render the current item (its results or status changed)."""
        self.show_item(self._item)

    def show_credentials(
        self, name: str, disclosure: DisclosureReport, signoff: Mapping[str, Any] | None
    ) -> None:
        """Render a published file's Content Credentials: its disclosure and its sign-off."""
        self._item = None
        muted = self.palette().color(QPalette.ColorRole.PlaceholderText).name()
        out = [
            f"<style>.m {{ color: {muted}; }} td {{ padding-right: 8px; }}</style>",
            f"<h3>{_e(name)}</h3>",
            *self._disclosure_html(disclosure, muted),
            "<h4>Sign-off (org.twinreview.signoff)</h4>",
        ]
        if not signoff:
            out.append('<p class="m">This file carries no twinreview sign-off.</p>')
        else:
            head = signoff.get("roster_head") or {}
            out.append(
                f"<p>{_e(signoff.get('asset'))} as reviewed: sha256 "
                f"<code>{_e(str(signoff.get('asset_sha256'))[:16])}…</code><br>"
                f'<span class="m">workspace {_e(str(signoff.get("workspace_id"))[:16])}… · '
                f"roster entry {_e(head.get('seq'))}</span></p><table>"
            )
            for d in signoff.get("decisions") or []:
                out.append(
                    f"<tr><td valign=top><b>{_e(d.get('principal'))}</b> ({_e(d.get('role'))})"
                    f'</td><td>approved {_e(d.get("ts"))}<br><span class="m">key '
                    f"{_e(d.get('key'))}, entry {_e(str(d.get('entry_hash'))[:16])}…</span>"
                    "</td></tr>"
                )
            out.append(
                '</table><p class="m">To check it against an export of the signed logs: '
                "Workspace › Check a published file…</p>"
            )
        html_text = "\n".join(out)
        self._html = html_text
        self.setHtml(html_text)

    def to_html(self, item: AssetItem) -> str:
        """The HTML for ``item``."""
        muted = self.palette().color(QPalette.ColorRole.PlaceholderText).name()
        link = self.palette().color(QPalette.ColorRole.Link).name()
        size = max(14, self.fontMetrics().height())
        out = [
            f"<style>a {{ color: {link}; }} .m {{ color: {muted}; }} "
            "td { padding-right: 8px; }</style>",
            f"<h3>{_e(item.ref.path.name)}</h3>",
            f'<p class="m">{_e(item.rel)} · model {_e(item.model_name)}</p>',
        ]
        out += self._status_html(item, size)
        toggle = "Hide details" if self.details else "Details"
        out.append(f'<h4>Findings <small><a href="{DETAILS_URL}">{toggle}</a></small></h4>')
        result = item.result
        if result is None:
            out.append(f"<p>{NO_RESULTS}: the scan has not reported on this image.</p>")
        else:
            if result.error and not any(f.kind == "unreadable" for f in result.findings):
                out.append(
                    f"<p>{_icon_img('severity-block', size)} <b>Unreadable:</b> "
                    f"{_e(result.error)}</p>"
                )
            findings = sorted(result.findings, key=lambda f: -int(f.severity))
            if not findings and not result.error:
                out.append(
                    f"<p>{_icon_img('severity-none', size)} The scan found nothing to report.</p>"
                )
            show_all = self._show_all_of == item.rel
            per_kind: dict[str, int] = {}
            folded: dict[str, list[Finding]] = {}
            for f in findings:
                per_kind[f.kind] = per_kind.get(f.kind, 0) + 1
                if show_all or per_kind[f.kind] <= _PER_KIND:
                    out.append(self._finding_html(f, size, muted))
                else:
                    folded.setdefault(f.kind, []).append(f)
            out += self._folded_html(folded)
            out += self._likeness_html(likeness_of(result), item, size)
            out += self._disclosure_html(result.disclosure, muted)
            out += self._facts_html(item)
        out += self._history_html(item, muted)
        return "\n".join(out)

    # -- sections -------------------------------------------------------------------------------

    def _status_html(self, item: AssetItem, size: int) -> list[str]:
        if item.status is None:
            return []
        ev = item.status.evaluation
        icon_name = {
            State.CLEARED: "status-cleared",
            State.PENDING: "status-pending",
            State.REJECTED: "status-rejected",
            State.BLOCKED: "status-blocked",
        }[ev.state]
        text = {
            State.CLEARED: "Cleared: every required role approved.",
            State.PENDING: f"Pending: waiting for {', '.join(ev.missing_roles) or 'an approval'}.",
            State.REJECTED: "Rejected.",
            State.BLOCKED: f"Blocked ({ev.blocked_by}).",
        }[ev.state]
        wait = item.status.consent if ev.state is State.BLOCKED else None
        if wait is not None and ev.blocked_by == "policy":
            # The model has not signed her consent (or withdrew it): say so in plain words.
            text = (
                f"Waiting for the model's consent: {item.model_name} has not said yet which "
                "uses they allow, so nothing of theirs can be approved."
                if wait == "missing"
                else f"Consent withdrawn: {item.model_name} withdrew consent, so nothing of "
                "theirs can be approved."
            )
            return [f"<p>{_icon_img('status-pending', size)} <b>{_e(text)}</b></p>"]
        out = [f"<p>{_icon_img(icon_name, size)} <b>{_e(text)}</b></p>"]
        if ev.problems:
            out.append(
                "<ul>" + "".join(f"<li>{_e(app_message(p))}</li>" for p in ev.problems) + "</ul>"
            )
        return out

    def _finding_html(self, f: Finding, size: int, muted: str) -> str:
        parts = [
            f"<p>{_icon_img(_SEVERITY_ICON[f.severity], size)} "
            f"<b>{_SEVERITY_WORD[f.severity]}:</b> {_e(f.message)}"
        ]
        ref = f.evidence.get("reference")
        if isinstance(ref, str) and ref:
            url = QUrl()
            url.setScheme(EVIDENCE_SCHEME)
            url.setPath(ref)
            parts.append(
                f' <a href="{_e(url.toString())}">Compare with {_e(ref.rsplit("/", 1)[-1])}</a>'
            )
        facts = [
            f"{_e(k)}: {_e(self._evidence_value(v, k))}"
            for k, v in f.evidence.items()
            if k not in _HIDDEN_EVIDENCE and v not in (None, "", [], {})
        ]
        if isinstance(ref, str) and ref:
            facts.insert(0, f"reference: {_e(ref)}")
        # The plain sentence first; the raw evidence (distances, thresholds) behind Details.
        if facts and self.details:
            parts.append(f'<br><span class="m">{" · ".join(facts)}</span>')
        parts.append("</p>")
        return "".join(parts)

    @staticmethod
    def _folded_html(folded: Mapping[str, list[Finding]]) -> list[str]:
        out = []
        for kind, rest in folded.items():
            links = []
            for f in rest:
                ref = f.evidence.get("reference")
                if isinstance(ref, str) and ref:
                    url = QUrl()
                    url.setScheme(EVIDENCE_SCHEME)
                    url.setPath(ref)
                    links.append(f'<a href="{_e(url.toString())}">{_e(ref.rsplit("/", 1)[-1])}</a>')
            what = kind.replace("_", " ")
            line = f"… and {len(rest)} more {_e(what)}"
            if links:
                line += ": " + " · ".join(links)
            out.append(f'<p>{line} <a href="{SHOW_ALL_URL}">(show all)</a></p>')
        return out

    @staticmethod
    def _evidence_value(value: Any, key: str = "") -> str:
        if key == "reasons" and isinstance(value, (list, tuple)):
            return reasons_text(str(v) for v in value)
        if isinstance(value, (list, tuple)):
            return ", ".join(str(v) for v in value)
        if isinstance(value, dict):
            return ", ".join(f"{k}={v}" for k, v in value.items())
        return str(value)

    def _likeness_html(self, lk: Likeness | None, item: AssetItem, size: int) -> list[str]:
        """Who is in the picture: one plain sentence, then each face with its closest photo."""
        if lk is None:
            return []
        names = {**self.model_names, lk.model: item.model_name or lk.model}
        out = ["<h4>Likeness</h4>"]
        text = sentence(lk, names, you=lk.model in self.you_models)
        if text:
            state = lk.state
            icon_name = (
                "severity-block"
                if state == OTHER
                else "severity-none"
                if state == OWN
                else "severity-warn"
                if lk.checkable or lk.problem
                else "severity-info"
            )
            out.append(f"<p>{_icon_img(icon_name, size)} <b>{_e(text)}</b></p>")
        rows = []
        for n, f in enumerate(lk.faces, 1):
            who = {
                OWN: names.get(lk.model, lk.model),
                OTHER: f"{names.get(f.other.model, f.other.model)} (another model)"
                if f.other
                else "another model",
                AMBIGUOUS: "unclear",
            }.get(f.verdict, "nobody in this workspace")
            line = f"Face {n}: {who}"
            match = f.own if f.verdict in (OWN, AMBIGUOUS) else f.other
            if match is not None and f.verdict != "unknown":
                url = QUrl()
                url.setScheme(EVIDENCE_SCHEME)
                url.setPath(match.reference)
                photo = match.reference.rsplit("/", 1)[-1]
                line = (
                    f"{_e(line)}, {_e(strength(match.distance))} ({match.distance:.2f}) with "
                    f'<a href="{_e(url.toString())}">{_e(photo)}</a>'
                )
            else:
                line = _e(line)
                if f.best is not None:
                    line += _e(f" (closest: {f.best.distance:.2f})")
            rows.append(f"<li>{line}</li>")
        if rows:
            if self.details:
                out.append("<ul>" + "".join(rows) + "</ul>")
                out.append(
                    f'<p class="m">A face distance of {lk.threshold:.2f} or less is a match.</p>'
                )
            out.append(
                '<p class="m">A likeness aid for your own judgement, not proof of identity; '
                "faces never leave this computer.</p>"
            )
        return out

    def _disclosure_html(self, disclosure: DisclosureReport | None, muted: str) -> list[str]:
        out = ["<h4>AI disclosure</h4>"]
        if disclosure is None:
            out.append('<p class="m">No disclosure check for this file.</p>')
            return out
        verdict = disclosure.verdict.value
        out.append(f"<p><b>Verdict: {_e(verdict)}</b> — {_e(VERDICT_MEANING.get(verdict, ''))}</p>")
        c2pa = disclosure.c2pa
        state = c2pa.state.value
        rows = [("C2PA", f"<b>{_e(state)}</b>: {_e(C2PA_MEANING.get(state, ''))}")]
        if c2pa.failures:
            rows.append(("Failures", _e(", ".join(c2pa.failures))))
        for st in c2pa.source_types:
            rows.append(
                ("Source type", f'{_e(st.value)} <span class="m">(in {_e(st.where)})</span>')
            )
        if c2pa.signer:
            rows.append(("Signer", _e(c2pa.signer)))
        if c2pa.generator:
            rows.append(("Made with", _e(c2pa.generator)))
        rows.append(("IPTC source type", _e(disclosure.xmp.source_type or "none")))
        label = disclosure.label
        if label is not None:
            text = "found" if label.found else "not found"
            if label.found and label.corner:
                text += f" ({label.corner})"
            rows.append(("Visible label", _e(text)))
        out.append(
            "<table>"
            + "".join(f"<tr><td valign=top><b>{k}</b></td><td>{v}</td></tr>" for k, v in rows)
            + "</table>"
        )
        for note in disclosure.notes:
            out.append(f'<p class="m">{_e(note)}</p>')
        return out

    def _facts_html(self, item: AssetItem) -> list[str]:
        result = item.result
        if result is None:
            return []
        facts = result.facts
        rows = []
        if facts is not None:
            if facts.width and facts.height:
                rows.append(("Dimensions", f"{facts.width} × {facts.height} pixels"))
            rows.append(("Format", facts.format or "unknown"))
            rows.append(("Size", human_size(facts.size)))
        if result.sha256:
            rows.append(("SHA-256", f"{result.sha256[:16]}…"))
        if result.phash:
            rows.append(("pHash", str(result.phash)))
        if not rows:
            return []
        return [
            "<h4>File</h4><table>"
            + "".join(f"<tr><td><b>{_e(k)}</b></td><td>{_e(v)}</td></tr>" for k, v in rows)
            + "</table>"
        ]

    def _history_html(self, item: AssetItem, muted: str) -> list[str]:
        if item.status is None:
            return []
        history = item.status.history
        out = ["<h4>Decisions</h4>"]
        if not history:
            out.append('<p class="m">No decisions yet.</p>')
            return out
        counting = set(id(d) for d in item.status.evaluation.counting)
        counting_keys = {(d.log, d.seq) for d in item.status.evaluation.counting}
        stale_keys = {(d.log, d.seq) for d in item.status.evaluation.stale}
        # What came next from the same person (history is oldest first): a later decision
        # supersedes, a withdrawal withdraws.
        after: dict[int, Decision] = {}
        last: dict[str, Decision] = {}
        for d in reversed(history):
            if d.principal in last:
                after[id(d)] = last[d.principal]
            last[d.principal] = d
        for d in reversed(history):
            counts = (d.log, d.seq) in counting_keys or id(d) in counting
            out.append(
                self._decision_html(d, counts, (d.log, d.seq) in stale_keys, after.get(id(d)))
            )
        return out

    @staticmethod
    def _decision_html(d: Decision, counts: bool, stale: bool, later: Decision | None) -> str:
        verb = _DECISION_WORD.get(d.decision, "Decided")
        line = f"<b>{_e(verb)}</b> by {_e(d.principal)} ({_e(d.role)}) on {_e(_when(d.ts))}"
        if d.override:
            line += " — <b>overrode blocking findings</b>"
        tail = []
        if d.reasons:
            tail.append(" ".join(REASON_CODES.get(r, UNKNOWN_REASON) for r in d.reasons))
        if d.note:
            tail.append(f"“{d.note}”")
        if tail:
            line += "<br>" + _e(" — ".join(tail))
        if stale:
            note = "About an earlier version of the file; does not count."
        elif d.decision == WITHDRAW and later is None:
            note = "Their earlier decision no longer counts: they are undecided again."
        elif later is not None and later.decision == WITHDRAW:
            note = "Withdrawn later; does not count."
        elif not counts:
            note = "Superseded by a later decision."
        else:
            return f"<p>{line}</p>"
        return f'<p>{line}<br><span class="m">{note}</span></p>'

    def set_details(self, shown: bool) -> None:
        """Unfold (or fold) the raw evidence under each finding."""
        self.details = shown
        self.refresh()

    def _on_anchor(self, url: QUrl) -> None:
        if url.toString() == DETAILS_URL:
            self.set_details(not self.details)
            return
        if url.toString() == SHOW_ALL_URL and self._item is not None:
            self._show_all_of = self._item.rel
            self.refresh()
            return
        if url.scheme() == EVIDENCE_SCHEME:
            self.evidence_requested.emit(url.path())
