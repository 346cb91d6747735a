"""The register of what went out, and ``twinreview published``: which files are out of consent.

A workspace where, after publishing: Ava's consent ends (judged with ``--at``), Bea withdraws
hers, Cleo drops a use one file was published for, the agent withdraws his approval of another,
and Dan is removed from the roster. Every file is named with its reason and the exit code is 1;
the files still in consent are listed as such, one with a "take it down by" date. The register
itself: signed ``published`` entries that verify with ``twinreview verify`` and stock ssh-keygen,
and nothing outside the signed logs is needed to list them.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from consent_scene import Scene, build_scene
from decision_helpers import reviewer, roster_service
from publish_helpers import publish_cli
from twinreview.cli.main import main
from twinreview.core.logs.log import read_log
from twinreview.core.publish.register import PublishedState
from twinreview.services.export import export_workspace

# Faces are not under test here (tests/test_faces*.py are about them).
pytestmark = pytest.mark.usefixtures("no_faces")


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Scene:
    return build_scene(tmp_path_factory.mktemp("published"))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_each_file_out_of_consent_is_named_with_its_reason(
    scene: Scene, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "published", str(scene.root), "--at", "2099-07-01", "--json")
    assert code == 1, err
    doc = json.loads(out)
    by_output = {p["output"]: p for p in doc["published"]}
    assert set(by_output) == set(scene.outputs.values())

    def state(name: str) -> tuple[str, str]:
        p = by_output[scene.outputs[name]]
        return p["state"], " ".join(p["reasons"])

    assert state("expired") == ("out_of_consent", "Ava's consent ended on 2099-06-30.")
    s, why = state("withdrawn")
    assert s == "out_of_consent" and why.startswith("Bea withdrew her consent on 2026-")
    s, why = state("use_dropped")
    assert s == "out_of_consent"
    assert "Cleo no longer allows the use 'social' it was published for" in why
    assert "she now allows ecommerce" in why
    s, why = state("approval_withdrawn")
    assert s == "out_of_consent"
    assert why.startswith("Sam (agent) withdrew the approval on 2026-")
    s, why = state("rejected_later")
    assert s == "out_of_consent"
    assert why.startswith("Cleo (model) turned the approval into a reject on 2026-")
    assert why.endswith("(not the right person).")  # her reason in words, never its code
    s, why = state("removed")
    assert s == "out_of_consent"
    assert why.startswith("Dan was removed from the roster on 2026-") and "lapsed" in why
    s, why = state("reset")
    assert s == "out_of_consent"
    assert why.startswith("Eli's key was reset by the owner on 2026-")
    assert why.endswith("after it went out: the consent it was published under lapsed.")
    assert state("still_fine") == ("in_consent", "")
    assert doc["counts"] == {"in_consent": 1, "take_down_by": 0, "out_of_consent": 7}
    # Out of consent first.
    states = [p["state"] for p in doc["published"]]
    assert states == sorted(states, key=lambda s: s != "out_of_consent")


def test_a_key_reset_is_a_notice_not_a_problem_of_the_logs(
    scene: Scene, capsys: pytest.CaptureFixture[str]
) -> None:
    """Eli's key was reset by the owner: her file is out of consent, the logs are sound."""
    code, out, err = run(capsys, "published", str(scene.root), "--json")
    assert code == 1  # her file is out of consent; the logs themselves are sound
    doc = json.loads(out)
    assert doc["verification_problems"] == []
    assert any("key was reset by the owner" in n for n in doc["notices"]), doc["notices"]
    assert "problem(s)" not in err and "may be incomplete" not in err
    code, out, err = run(capsys, "published", str(scene.root))
    assert code == 1
    assert "problem(s)" not in err and "may be incomplete" not in err
    assert err.startswith("twinreview: note: ") and "key was reset by the owner" in err, err


def test_reasons_are_said_to_her_in_her_own_words(
    scene: Scene, capsys: pytest.CaptureFixture[str]
) -> None:
    """Simple mode reads ``reasons_to_model``: "You", never her name and role, never a code."""
    _, out, _ = run(capsys, "published", str(scene.root), "--json")
    by_output = {p["output"]: p for p in json.loads(out)["published"]}
    told = " ".join(by_output[scene.outputs["rejected_later"]]["reasons_to_model"])
    assert told.startswith("You turned the approval into a reject on 2026-"), told
    assert told.endswith("(not the right person).")
    assert "Cleo (model)" not in told and "likeness_wrong" not in told
    told = " ".join(by_output[scene.outputs["withdrawn"]]["reasons_to_model"])
    assert told.startswith("You withdrew your consent on 2026-"), told
    told = " ".join(by_output[scene.outputs["use_dropped"]]["reasons_to_model"])
    assert "You no longer allow the use 'social' it was published for (you now allow" in told
    for p in by_output.values():
        assert "@" not in p["published_by_name"]


def test_text_list_and_a_take_down_date_within_30_days(
    scene: Scene, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "published", str(scene.root), "--at", "2099-06-10")
    assert code == 1  # the withdrawals and the dropped use hold at any date
    lines = out.splitlines()
    expired = next(ln for ln in lines if scene.outputs["expired"] in ln)
    assert expired.startswith("take it down by 2099-06-30")
    first = lines[0]
    assert first.startswith("OUT OF CONSENT")
    assert out.strip().endswith("(judged at 2099-06-10T00:00+00:00)")
    assert "    Bea withdrew her consent on" in out


def test_before_any_change_everything_is_in_consent(scene: Scene) -> None:
    assert {j.state for j in scene.before.judgements} == {PublishedState.IN_CONSENT}
    assert len(scene.before.judgements) == len(scene.outputs)
    assert scene.before_exit == 0


def test_bad_at_is_one_line(scene: Scene, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "published", str(scene.root), "--at", "next week")
    assert code == 2 and err.count("\n") == 1 and "--at" in err


def test_the_register_is_signed_entries_only(scene: Scene) -> None:
    """Every published file is a verified ``published`` entry naming what the file is."""
    logs = sorted((scene.root / "logs").rglob("*.dlog"))
    entries = [
        ln.payload
        for log in logs
        for ln in read_log(log).lines
        if ln.payload and ln.payload.get("kind") == "published"
    ]
    assert len(entries) == len(scene.outputs)
    for p in entries:
        out = scene.outdir / p["output"]
        import hashlib

        assert hashlib.sha256(out.read_bytes()).hexdigest() == p["output_sha256"]
        assert p["principal"] == "owner@brand.example" and p["label"] is False
        assert len(p["image_digest"]) == 64 and len(p["consent"]["entry_hash"]) == 64
        assert p["decisions"] and all(d["hash"] for d in p["decisions"])
    code = main(["verify", str(scene.root)])
    assert code in (0, 1)
    from twinreview.core.logs.verify import verify_workspace

    report = verify_workspace(scene.root)
    bad = [e for e in report.entries if e.kind == "published" and not e.ok]
    assert bad == []


def test_a_published_entry_verifies_with_stock_ssh_keygen(scene: Scene, tmp_path: Path) -> None:
    exe = shutil.which("ssh-keygen")
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail("ssh-keygen is required in CI")
        pytest.skip("ssh-keygen not installed")
    identity, key = scene.brand.signer()
    export = tmp_path / "export"
    export_workspace(scene.root, export, identity, key)
    log = next(p for p in (export / "logs").rglob("*.dlog") if p.name.startswith("owner@"))
    line = next(
        ln
        for ln in log.read_bytes().splitlines()
        if json.loads(base64.b64decode(json.loads(ln)["payload"]))["kind"] == "published"
    )
    record: dict[str, Any] = json.loads(line)
    sig = tmp_path / "entry.sig"
    sig.write_text(record["sig"])
    proc = subprocess.run(
        [
            exe,
            "-Y",
            "verify",
            "-f",
            str(export / "allowed_signers"),
            "-I",
            "owner@brand.example",
            "-n",
            "twinreview-entry-v1",
            "-s",
            str(sig),
        ],
        input=base64.b64decode(record["payload"]),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert b'Good "twinreview-entry-v1" signature for owner@brand.example' in proc.stdout


def test_publishing_without_a_reviewer_key_on_the_roster_writes_nothing(
    scene: Scene, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    stranger = reviewer(tmp_path / "people", "eve@elsewhere.example", "brand", "Eve")
    roster_service(stranger).trust_workspace(scene.root)  # she pinned the owner, like anyone
    logs = sorted(p.name for p in (scene.root / "logs").rglob("*.dlog"))
    out = tmp_path / "out"
    code = publish_cli(scene.pw, out, keys=stranger)
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "the signed roster does not list eve@elsewhere.example" in err
    assert not out.exists()
    assert sorted(p.name for p in (scene.root / "logs").rglob("*.dlog")) == logs


def test_check_published_with_a_newer_export_says_the_same_for_one_file(
    scene: Scene, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    identity, key = scene.brand.signer()
    export = tmp_path / "export"
    export_workspace(scene.root, export, identity, key)
    for name, why in (
        ("withdrawn", "out of consent: Bea withdrew her consent on 2026-"),
        ("use_dropped", "out of consent: Cleo no longer allows the use 'social'"),
        ("removed", "out of consent: Dan was removed from the roster on 2026-"),
    ):
        path = scene.outdir / scene.outputs[name]
        code, _, err = run(capsys, "check-published", str(path), "--export", str(export))
        assert code == 1, name
        assert f"twinreview: {path}: {why}" in err, err
    # Her reject after publishing, with her reason in words, never its code.
    path = scene.outdir / scene.outputs["rejected_later"]
    code, out, err = run(capsys, "check-published", str(path), "--export", str(export))
    assert code == 1
    assert "was followed by a reject" in err and "not the right person" in err, err
    assert "likeness_wrong" not in err + out
    path = scene.outdir / scene.outputs["still_fine"]
    code, out, err = run(capsys, "check-published", str(path), "--export", str(export))
    assert code == 0, err
    assert "  the model's consent, per this export: in consent" in out
    code, out, _ = run(capsys, "check-published", str(path), "--export", str(export), "--json")
    assert json.loads(out)[0]["consent"] == "in_consent"


def test_the_report_has_a_published_section(
    scene: Scene, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    html, doc = tmp_path / "report.html", tmp_path / "report.json"
    code, _, err = run(capsys, "report", str(scene.root), "--html", str(html), "--json", str(doc))
    assert code == 0, err
    published = json.loads(doc.read_text())["published"]
    states = {p["output"]: p["state"] for p in published["published"]}
    assert states[scene.outputs["withdrawn"]] == "out_of_consent"
    assert states[scene.outputs["still_fine"]] == "in_consent"
    page = html.read_text()
    assert "Published files and consent" in page
    assert "Bea withdrew her consent on" in page
    assert "Cleo (model) turned the approval into a reject on 2026-" in page
    assert "(not the right person)" in page and "likeness_wrong" not in page
    assert "Out of consent" in page and "In consent" in page
    assert "for “Brand X web shop and social channels”" in page  # her purpose, in her words
