"""Simple mode speaks to the model in plain second-person words, for every likeness state.

The scan is faked: each of Ana's images carries one likeness (and the findings the core draws
from it), so one pass through her queue shows every state of the face check.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any

import pytest

from conftest import FakeBackend, Harness, make_workspace, open_and_scan
from twinreview.core import findings as kinds
from twinreview.core.likeness.model import (
    AMBIGUOUS,
    OTHER,
    OWN,
    UNKNOWN,
    FaceMatch,
    Likeness,
    RefMatch,
)
from twinreview.core.likeness.model import findings as likeness_findings
from twinreview.ui.backend import Identity
from twinreview.ui.main_window import PAGE_SIMPLE
from twinreview.ui.plain import likeness_sentence

NAMES = {"ana": "Ana", "bo": "Bo"}
ANA_REF = "models/ana/references/ref-0.jpg"
BO_REF = "models/bo/references/ref-1.jpg"
BOX = (0.25, 0.25, 0.75, 0.75)


def _ana(distance: float) -> RefMatch:
    return RefMatch("ana", ANA_REF, distance, (0.3, 0.2, 0.7, 0.8))


def _bo(distance: float) -> RefMatch:
    return RefMatch("bo", BO_REF, distance, (0.2, 0.2, 0.6, 0.6))


def _lk(*faces: FaceMatch, **kw: Any) -> Likeness:
    return Likeness("ana", faces, **{"references": 2, "reference_faces": 2, **kw})


#: One likeness per state of the face check, by a name the test reports.
STATES: dict[str, Likeness] = {
    "strong match": _lk(FaceMatch(BOX, OWN, _ana(0.31), _ana(0.31), None)),
    "match": _lk(FaceMatch(BOX, OWN, _ana(0.55), _ana(0.55), _bo(0.8))),
    "unconfirmed": _lk(FaceMatch(BOX, UNKNOWN, _ana(0.7), _ana(0.7), _bo(0.9))),
    "other model": _lk(FaceMatch(BOX, OTHER, _ana(0.8), _bo(0.3), _bo(0.3))),
    "unknown person": _lk(
        FaceMatch(BOX, OWN, _ana(0.3), _ana(0.3), None),
        FaceMatch((0.7, 0.1, 0.9, 0.4), UNKNOWN, None, None, None),
    ),
    "ambiguous": _lk(FaceMatch(BOX, AMBIGUOUS, _ana(0.5), _ana(0.5), _bo(0.52))),
    "no face in image": _lk(),
    "no face in references": _lk(reference_faces=0),
    "no references": _lk(references=0, reference_faces=0),
    "check failed": _lk(problem="[Errno 13] Permission denied: '/home/x/.cache/faces.npz'"),
}

CODES = {v for k, v in vars(kinds).items() if k.isupper() and isinstance(v, str) and "_" in v} | {
    "missing_disclosure",
    "partial_disclosure",
    "intended_use",
    "sidecar",
}


def _unplain(text: str) -> list[str]:
    """What simple mode must never say: reviewer jargon, codes, raw errors, figures."""
    low = text.lower().replace("someone else in this workspace", "")
    bad = [w for w in ("reference", "likeness", "[errno", "models/", "assets/") if w in low]
    words = ("key", "keyring", "roster", "workspace", "log", "bo")
    bad += [w for w in words if re.search(rf"\b{w}\b", low)]
    bad += [w for w in ("in only one of the two places",) if w in low]
    bad += [c for c in CODES if c in low]
    bad += re.findall(r"\d\.\d\d", text)  # distances and thresholds
    return bad


@pytest.mark.parametrize("state", list(STATES))
def test_each_likeness_state_is_one_plain_sentence_to_the_model(state: str) -> None:
    text = likeness_sentence(STATES[state], NAMES, you=True)
    assert text and text.endswith("."), state
    assert _unplain(text) == [], (state, text)
    assert re.search(r"\byou(r)?\b", text), (state, text)
    assert "Ana" not in text, (state, text)  # she is "you", never named in the third person


class StatesBackend(FakeBackend):
    """Ana's images, in name order, carry the states of :data:`STATES` and their findings."""

    def scan(self, workspace: Any, progress: Any, cancel: Any) -> Any:
        base = super().scan(workspace, progress, cancel)
        ana = sorted(a.asset.rel for a in base.assets if a.asset.model_id == "ana")
        by_rel = dict(zip(ana, STATES.values(), strict=False))
        assets = []
        for a in base.assets:
            lk = by_rel.get(a.asset.rel)
            extra = tuple(likeness_findings(lk, {}, NAMES)) if lk is not None else ()
            assets.append(dataclasses.replace(a, likeness=lk, findings=a.findings + extra))
        return dataclasses.replace(base, assets=tuple(assets))


@pytest.fixture
def backend() -> FakeBackend:
    return StatesBackend(identity=Identity("ana@example.com", "Ana", "model", "line", ("ana",)))


def test_simple_mode_never_shows_jargon_codes_or_raw_errors(
    qtbot: Any, harness: Harness, tmp_path: Path
) -> None:
    root = make_workspace(tmp_path / "ws", assets=len(STATES))
    harness.backend.models_for = ("ana",)
    open_and_scan(qtbot, harness, root)
    w = harness.window
    w.acts["simple"].trigger()
    assert w.pages.currentIndex() == PAGE_SIMPLE
    page = w.simple_page
    seen: dict[str, str] = {}
    for row in range(page.proxy.rowCount()):
        w.step(row - page.row)
        item = w.current_item()
        assert item is not None
        labels = (page.header, page.likeness, page.findings, page.status)
        shown = " ".join(lab.text() for lab in labels if lab.isVisible())
        assert _unplain(shown) == [], (item.rel, shown)
        if page.likeness.isVisible():
            seen[item.rel] = page.likeness.text()
            assert re.search(r"\byou(r)?\b", page.likeness.text()), page.likeness.text()
        if os.environ.get("TWINREVIEW_SHOTS"):
            name = item.rel.rsplit("/", 1)[-1].replace(".jpg", ".png")
            w.grab().save(os.path.join(os.environ["TWINREVIEW_SHOTS"], f"simple-{name}"))
    # Every state reached the screen, each in its own words.
    assert len(seen) == len(STATES)
    assert len(set(seen.values())) == len(STATES)


def test_an_image_that_may_show_another_model_asks_for_her_word_in_plain_words() -> None:
    from twinreview.core.findings import ALSO_LOOKS_LIKE_MODEL, REFERENCE_COPIES, Finding, Severity
    from twinreview.ui.plain import finding_sentence

    also = Finding(ALSO_LOOKS_LIKE_MODEL, Severity.BLOCK, "", {"model": "ava"})
    copies = Finding(REFERENCE_COPIES, Severity.BLOCK, "", {"models": ["ava"]})
    # To the model it is filed under: another model is never named.
    said = finding_sentence(also, you=True)
    assert "someone else" in said and "ava" not in said.lower()
    assert "copies of photos of someone else" in finding_sentence(copies, you=True)
    # To the model it may show: her own word is needed.
    for f in (also, copies):
        said = finding_sentence(f, you=False, my_models=frozenset({"ava"}))
        assert said == (
            "This image may show you, though it is filed under another model: it needs your "
            "own approval too."
        )


class LookAlikeBackend(FakeBackend):
    """One of Bo's images looks as much like Ana as like Bo."""

    def scan(self, workspace: Any, progress: Any, cancel: Any) -> Any:
        base = super().scan(workspace, progress, cancel)
        bo = sorted(a.asset.rel for a in base.assets if a.asset.model_id == "bo")[0]
        lk = Likeness(
            "bo",
            (FaceMatch(BOX, AMBIGUOUS, _bo(0.35), _bo(0.35), _ana(0.35)),),
            references=2,
            reference_faces=2,
        )
        assets = []
        for a in base.assets:
            if a.asset.rel == bo:
                extra = tuple(likeness_findings(lk, {}, NAMES))
                a = dataclasses.replace(a, likeness=lk, findings=a.findings + extra)
            assets.append(a)
        return dataclasses.replace(base, assets=tuple(assets))


class TestLookAlike:
    """Ana in simple mode, on a workspace where one of Bo's images may show her."""

    @pytest.fixture
    def backend(self) -> FakeBackend:
        return LookAlikeBackend(
            identity=Identity("ana@example.com", "Ana", "model", "line", ("ana",))
        )

    def test_her_simple_queue_holds_another_models_image_that_may_show_her(
        self, qtbot: Any, harness: Harness, tmp_path: Path
    ) -> None:
        root = make_workspace(tmp_path / "ws", assets=4)
        harness.backend.models_for = ("ana",)
        open_and_scan(qtbot, harness, root)
        w = harness.window
        w.acts["simple"].trigger()
        page = w.simple_page
        shown: dict[str, str] = {}
        for row in range(page.proxy.rowCount()):
            w.step(row - page.row)
            item = w.current_item()
            assert item is not None
            shown[item.ref.model_id + ":" + item.rel] = page.findings.text()
            if item.ref.model_id == "bo" and os.environ.get("TWINREVIEW_SHOTS"):
                shot = os.path.join(os.environ["TWINREVIEW_SHOTS"], "simple-look-alike.png")
                w.grab().save(shot)
        bo = [text for key, text in shown.items() if key.startswith("bo:")]
        assert len(bo) == 1
        assert "This image may show you, though it is filed under another model" in bo[0]
