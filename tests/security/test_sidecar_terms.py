"""A sidecar that hides its terms in an unexpected form does not slip past her consent.

Ava excludes nudity and alcohol and allows e-commerce only. A pipeline (or a folder writer)
writes the asset's ``categories`` as one string or as a table, or names two different uses in
``intended_use`` and ``use``. Through the real command line (``decide --approve`` and
``status``), none of these can be approved, and the reason is said.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from decision_helpers import build_workspace
from laptops import Studio, studio_once
from publish_helpers import TAM, xmp_jpeg

pytestmark = pytest.mark.usefixtures("no_faces")

LOOK1 = "assets/ava/look1.jpg"


def _build(folder: Path) -> Studio:
    root = build_workspace(folder / "ws")
    img = Image.open(root / LOOK1)
    img.load()
    (root / LOOK1).write_bytes(xmp_jpeg(img, TAM))  # declares its AI source (disclosure ok)
    s = Studio(folder / "laptops", root)
    s.ava.ok(
        "consent", root, "--model", "ava", "--uses", "ecommerce", "--purpose",
        "Autumn e-commerce", "--no-expiry", "--exclude", "nudity,alcohol",
    )  # fmt: skip
    return s


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Studio:
    return studio_once(tmp_path_factory, "sidecar-terms", _build)


@pytest.fixture
def studio(tmp_path: Path, built: Studio) -> tuple[Path, Studio]:
    s = built.copy(tmp_path / "laptops", tmp_path / "ws")
    return s.root, s


@pytest.mark.parametrize(
    ("categories", "said"),
    [
        (["nudity"], "excluded 'nudity'"),
        (["Alcohol "], "excluded 'alcohol"),
        ("nudity, alcohol", "categories could not be read"),
        ({"nudity": True}, "categories could not be read"),
        ("Nudity", "categories could not be read"),
        (["swimwear", 3], "categories could not be read"),
    ],
)
def test_categories_in_any_form_cannot_slip_past_her_exclusions(
    studio: tuple[Path, Studio], categories: Any, said: str
) -> None:
    root, s = studio
    sidecar = {"intended_use": "ecommerce", "categories": categories}
    (root / "assets/ava/look1.json").write_text(json.dumps(sidecar))

    kim = s.kim.run("decide", "--approve", root, LOOK1)
    ava = s.ava.run("decide", "--approve", root, LOOK1)

    assert kim.code != 0 and said in kim.err.lower()
    assert ava.code != 0 and said in ava.err.lower()
    entry = s.kim.status(root, LOOK1)
    assert entry["state"] == "blocked"
    assert any(said in p.lower() for p in entry["problems"])


def test_a_list_of_harmless_categories_is_approved(studio: tuple[Path, Studio]) -> None:
    root, s = studio
    sidecar = {"intended_use": "ecommerce", "categories": ["Swimwear"]}
    (root / "assets/ava/look1.json").write_text(json.dumps(sidecar))
    s.kim.ok("decide", "--approve", root, LOOK1)
    s.ava.ok("decide", "--approve", root, LOOK1)
    assert s.kim.state(root, LOOK1) == "cleared"


@pytest.mark.parametrize(
    "sidecar",
    [
        {"intended_use": "ecommerce", "use": "billboard"},
        {"use": "ecommerce", "intended_use": "billboard"},
        {"intended_use": ["ecommerce"], "use": ["billboard"]},
    ],
)
def test_both_use_fields_are_checked(studio: tuple[Path, Studio], sidecar: dict[str, Any]) -> None:
    root, s = studio
    (root / "assets/ava/look1.json").write_text(json.dumps(sidecar))

    kim = s.kim.run("decide", "--approve", root, LOOK1)

    assert kim.code != 0 and "'billboard'" in kim.err
    entry = s.kim.status(root, LOOK1)
    assert entry["state"] == "blocked"
    assert any("'billboard'" in p for p in entry["problems"])
