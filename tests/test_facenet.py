"""The face descriptor network run with numpy (services.scan.facenet) against dlib's own.

Both read the same model file (the face-recognition-models wheel's). On every face of the shared
corpus (read in place), on altered copies of those faces and on synthetic chips, the two
descriptors must agree to 1e-4, number by number and as points (Euclidean distance), and every
likeness decision taken from them must be the same. Measured on the corpus's 23 faces: at most
3.4e-7 on one number and 1.4e-6 between the two descriptors of a face (float32 rounding in
another order), where the pair distance closest to the 0.6 cut is 0.06 from it. A model file of
any other shape is refused with a clear reason, and the face engine then falls back to dlib's
network.
"""

from __future__ import annotations

import csv
import io
import itertools
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from twinreview.core.likeness.model import (
    DEFAULT_THRESHOLD,
    NEAR_IDENTICAL,
    STRONG_MATCH,
    FaceScan,
    Gallery,
    ReferenceFaces,
)
from twinreview.services.scan import facenet
from twinreview.services.scan.faces import (
    DESCRIPTOR_MODEL,
    SHAPE_MODEL,
    FaceEngine,
    Located,
    find_model_dir,
)
from wsbuild import jpeg_bytes, pattern

TOLERANCE = 1e-4


def _model_path() -> Path:
    d = find_model_dir()
    assert d is not None
    return d / DESCRIPTOR_MODEL


@pytest.fixture(scope="module")
def net() -> facenet.FaceNet:
    return facenet.load(_model_path())


@pytest.fixture(scope="module")
def dlib_net() -> Any:
    import dlib  # type: ignore[import-untyped]

    return dlib.face_recognition_model_v1(str(_model_path()))


_DLIB: dict[int, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] = {}


def _dlib_describe(dlib_net: Any, chips: list[np.ndarray[Any, Any]]) -> np.ndarray[Any, Any]:
    """dlib's descriptor of each chip, once per chip object in this module (the corpus chips
    are read by two tests; dlib's network is pure, and the chips are never changed)."""
    out = []
    for c in chips:
        hit = _DLIB.get(id(c))
        if hit is None or hit[0] is not c:
            hit = _DLIB[id(c)] = (c, np.asarray(dlib_net.compute_face_descriptor(c, 0)))
        out.append(hit[1])
    return np.stack(out)


def _synthetic_chips() -> list[np.ndarray[Any, Any]]:
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:150, 0:150]
    ramp = np.stack([x * 255 / 149, y * 255 / 149, (x + y) * 255 / 298], -1)
    return [
        rng.integers(0, 256, (150, 150, 3), dtype=np.uint8),
        np.zeros((150, 150, 3), np.uint8),
        np.full((150, 150, 3), 255, np.uint8),
        ramp.round().astype(np.uint8),
        np.asarray(pattern(4, (150, 150))),
    ]


_CHIPS: dict[str, list[np.ndarray[Any, Any]]] = {}


@pytest.fixture
def corpus_chips(corpus_dir: Path) -> dict[str, list[np.ndarray[Any, Any]]]:
    """Every face the engine finds in each corpus photo, as the chip the network reads."""
    if not _CHIPS:
        faces_dir = corpus_dir / "faces"
        text = (faces_dir / "MANIFEST.tsv").read_text("utf-8")
        engine = FaceEngine()
        for row in csv.DictReader(io.StringIO(text), delimiter="\t"):
            found = engine.find((faces_dir / row["file"]).read_bytes())
            assert isinstance(found, Located), (row["file"], found)
            _CHIPS[row["file"]] = list(found.chips)
    return _CHIPS


def test_the_wheels_model_file_is_read(net: facenet.FaceNet) -> None:
    got = net.describe(_synthetic_chips()[:2])
    assert got.shape == (2, facenet.DESCRIPTOR_SIZE)
    assert got.dtype == np.float32
    assert np.all(np.isfinite(got))


def test_synthetic_chips_agree_with_dlib(net: facenet.FaceNet, dlib_net: Any) -> None:
    chips = _synthetic_chips()
    ours = net.describe(chips)
    theirs = _dlib_describe(dlib_net, chips)
    assert np.abs(ours - theirs).max() <= TOLERANCE
    # One at a time or all together: the same numbers.
    alone = np.concatenate([net.describe([c]) for c in chips])
    assert np.abs(alone - ours).max() <= 1e-6


@pytest.mark.corpus
def test_every_corpus_face_agrees_with_dlib_and_so_does_every_decision(
    net: facenet.FaceNet, dlib_net: Any, corpus_chips: dict[str, list[np.ndarray[Any, Any]]]
) -> None:
    chips = [c for cs in corpus_chips.values() for c in cs]
    # Altered copies too: mirrored, darker, brighter, noisier (what the copy checks feed in).
    rng = np.random.default_rng(3)
    chips += [np.ascontiguousarray(c[:, ::-1]) for c in chips[:6]]
    chips += [(c * 0.8).astype(np.uint8) for c in chips[:6]]
    chips += [np.minimum(c.astype(np.int16) + 40, 255).astype(np.uint8) for c in chips[:6]]
    chips += [np.clip(c + rng.normal(0, 8, c.shape), 0, 255).astype(np.uint8) for c in chips[:6]]
    assert len(chips) >= 22 + 24
    ours = net.describe(chips)
    theirs = _dlib_describe(dlib_net, chips)
    # Each number, and each descriptor as a point (the Euclidean distance likeness reads).
    assert np.abs(ours - theirs).max() <= TOLERANCE
    assert np.linalg.norm(ours - theirs, axis=1).max() <= TOLERANCE

    def distances(e: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        return np.asarray(
            [np.linalg.norm(e[i] - e[j]) for i, j in itertools.combinations(range(len(e)), 2)]
        )

    d_ours, d_theirs = distances(ours), distances(theirs)
    assert np.abs(d_ours - d_theirs).max() <= TOLERANCE
    for cut in (DEFAULT_THRESHOLD, STRONG_MATCH, NEAR_IDENTICAL):
        assert np.array_equal(d_ours <= cut, d_theirs <= cut), cut
    # Both sides of the 0.6 cut are exercised (same person and different people).
    assert (d_ours <= DEFAULT_THRESHOLD).any()
    assert (d_ours > DEFAULT_THRESHOLD).any()


@pytest.mark.corpus
def test_likeness_verdicts_are_the_same_with_either_network(
    net: facenet.FaceNet, dlib_net: Any, corpus_chips: dict[str, list[np.ndarray[Any, Any]]]
) -> None:
    """A workspace of the corpus: each photo's likeness judged from either set of descriptors."""
    from twinreview.core.likeness.model import Face

    def scans(describe: Any) -> dict[str, FaceScan]:
        return {
            name: FaceScan(
                tuple(Face((0.1, 0.1, 0.5, 0.5), e.astype(np.float32)) for e in describe(cs))
            )
            for name, cs in corpus_chips.items()
            if cs
        }

    ours = scans(net.describe)
    theirs = scans(lambda cs: _dlib_describe(dlib_net, cs))
    names = sorted(ours)
    person = {n: n.split("_")[0] for n in names}

    def verdicts(s: dict[str, FaceScan]) -> list[Any]:
        refs = [ReferenceFaces(person[n], f"ref/{n}", s[n]) for n in names[::2]]
        gallery = Gallery.build(refs)
        known = {p: sum(1 for r in refs if r.model == p) for p in set(person.values())}
        got = gallery.assess([(person[n], s[n]) for n in names], known=known)
        return [
            (
                lk.state,
                [
                    (
                        m.verdict,
                        m.own and m.own.reference,
                        m.best and m.best.reference,
                        m.other and m.other.reference,
                    )
                    for m in lk.faces
                ],
            )
            for lk in got
        ]

    assert verdicts(ours) == verdicts(theirs)


def _copy_models(tmp_path: Path, descriptor: bytes) -> Path:
    real = find_model_dir()
    assert real is not None
    shutil.copyfile(real / SHAPE_MODEL, tmp_path / SHAPE_MODEL)
    (tmp_path / DESCRIPTOR_MODEL).write_bytes(descriptor)
    return tmp_path


def _damaged(data: bytes) -> dict[str, bytes]:
    # The bottom convolution (32 filters of 7 x 7) is written first: its parameter tensor,
    # then its filter count, which becomes 64 here (the file keeps its length).
    reader = facenet._Reader(data)
    reader.pos = data.index(b"con_4") + len(b"con_4")
    reader.tensor()
    count = reader.pos
    assert data[count : count + 2] == bytes([1, 32])
    return {
        "truncated": data[: len(data) // 2],
        "trailing bytes": data + bytes([1, 0]),
        "garbage": b"garbage",
        "empty": b"",
        "another filter count": data[:count] + bytes([1, 64]) + data[count + 2 :],
        "another layer": data.replace(b"\x05relu_", b"\x05relv_", 1),
    }


def test_a_model_file_of_another_shape_is_refused_with_a_reason(tmp_path: Path) -> None:
    data = _model_path().read_bytes()
    for label, bad in _damaged(data).items():
        path = tmp_path / f"{label}.dat"
        path.write_bytes(bad)
        with pytest.raises(facenet.ModelFormatError) as err:
            facenet.load(path)
        assert str(err.value), label


def test_the_engine_falls_back_to_dlib_with_a_log_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A model file the parser does not know: dlib's own network, one warning, same faces."""

    def refuse(path: Path) -> facenet.FaceNet:
        raise facenet.ModelFormatError("a layer of another kind")

    data = jpeg_bytes(pattern(3, (320, 240)))
    reference = FaceEngine()
    monkeypatch.setattr(facenet, "load", refuse)
    # A model folder of its own: the network is read once per model file and process.
    engine = FaceEngine(model_dir=_copy_models(tmp_path, _model_path().read_bytes()))
    with caplog.at_level(logging.WARNING, logger="twinreview.services.scan.faces"):
        assert engine.numpy_network() is None
        assert engine.numpy_network() is None  # tried once, said once
    warnings = [r for r in caplog.records if "dlib's own network" in r.getMessage()]
    assert len(warnings) == 1
    assert "a layer of another kind" in warnings[0].getMessage()
    got, want = engine.scan_bytes(data), reference.scan_bytes(data)
    assert got.error is None
    assert len(got.faces) == len(want.faces)
    rng = np.random.default_rng(1)
    chip = rng.integers(0, 256, (150, 150, 3), dtype=np.uint8)
    located = Located((chip,), ((0.1, 0.1, 0.9, 0.9),), (1.0,))
    a, b = engine.describe(located), reference.describe(located)
    assert a.error is None
    assert b.error is None
    assert np.abs(a.faces[0].embedding - b.faces[0].embedding).max() <= TOLERANCE


def test_a_damaged_descriptor_file_is_an_error_never_a_crash(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Neither reader can use it: every face scan says so, the log names the file."""
    engine = FaceEngine(model_dir=_copy_models(tmp_path, b"garbage"))
    rng = np.random.default_rng(1)
    chip = rng.integers(0, 256, (150, 150, 3), dtype=np.uint8)
    with caplog.at_level(logging.WARNING, logger="twinreview.services.scan.faces"):
        got = engine.describe(Located((chip,), ((0.1, 0.1, 0.9, 0.9),), (1.0,)))
    assert got.faces == ()
    assert got.error is not None
    assert "could not be loaded" in got.error
    assert any(DESCRIPTOR_MODEL in r.getMessage() for r in caplog.records)


def test_chips_of_another_size_are_refused(net: facenet.FaceNet) -> None:
    with pytest.raises(ValueError, match="150"):
        net.describe([np.zeros((100, 100, 3), np.uint8)])
    assert net.describe([]).shape == (0, facenet.DESCRIPTOR_SIZE)


def test_files_described_together_get_what_they_get_alone(
    net: facenet.FaceNet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The face pass describes a few files in one batch: each file gets its own faces, the same
    numbers as alone; a file the network refuses fails alone, never its batch."""
    engine = FaceEngine()
    chips = _synthetic_chips()
    files = [
        Located(tuple(chips[:2]), ((0.1, 0.1, 0.4, 0.4), (0.5, 0.5, 0.9, 0.9)), (1.5, 0.5)),
        Located((), (), (), upsampled=True),
        Located((chips[2],), ((0.2, 0.2, 0.6, 0.6),), (0.9,), upsampled=True),
        Located(tuple(chips[3:]), ((0.0, 0.0, 0.5, 0.5),) * 2, (0.3, 0.2)),
    ]
    together = engine.describe_all(files)
    assert [len(s.faces) for s in together] == [2, 0, 1, 2]
    assert [s.upsampled for s in together] == [False, True, True, False]
    for scan, one in zip(together, files, strict=True):
        alone = engine.describe(one)
        assert scan.error is None
        assert [f.box for f in scan.faces] == list(one.boxes)
        assert [f.score for f in scan.faces] == list(one.scores)
        for a, b in zip(scan.faces, alone.faces, strict=True):
            assert np.abs(a.embedding - b.embedding).max() <= 1e-6
    bad = Located((np.zeros((100, 100, 3), np.uint8),), ((0.1, 0.1, 0.2, 0.2),), (1.0,))
    mixed = engine.describe_all([files[0], bad, files[2]])
    assert mixed[0].error is None
    assert mixed[2].error is None
    assert mixed[1].error is not None
    assert mixed[1].faces == ()
    assert np.abs(mixed[0].faces[1].embedding - together[0].faces[1].embedding).max() <= 1e-6
