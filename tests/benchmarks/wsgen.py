"""Builds large campaign workspaces for the scale benchmark, with ground truth.

Used by ``bench_scale.py``; also runnable on its own::

    uv run python tests/benchmarks/wsgen.py DIR --assets 2000

A workspace of ``N`` assets, 1024 x 1280 JPEGs, like an agent's campaign:

- 10 models with 5 reference photos each. Two models' references include the real portraits of
  ``../shared/corpus/faces`` (read in place, never copied into the repository); the others are
  synthetic "shoots": one textured studio backdrop per model with a subject in front of it.
- about 2 % of the assets are copies of a reference (crops, mirrors, downscales, re-encodes);
- a few real portraits of the corpus that are not references (other photos of the same people);
- about 10 % are shots on one shared backdrop with different subjects, which share their low
  frequencies and so give the hashes many candidates that are not copies;
- about 5 % are smooth, low-texture images (gradients, soft blobs) with few keypoints, where
  geometry cannot decide;
- the rest are distinct synthetic images.

``manifest.json`` in the workspace's parent folder records what each asset is: ``copy`` (with
the reference it was made from), ``portrait``, ``backdrop``, ``smooth`` or ``distinct``. Two
assets are a true duplicate pair only when both are copies of the same reference; nothing else
is a copy of anything.

Generation is deterministic (one seed per asset), so a workspace can be rebuilt and extended:
``build(root, 5000)`` on a folder built for 2000 adds the missing 3000.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

SIZE = (1024, 1280)  # width, height: a portrait-format campaign image
MODELS = 10
REFS_PER_MODEL = 5
CORPUS_FACES = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "faces"
# Corpus photos used as references of the first two models, and the other photos of the same
# people that appear among the assets ("a few real portraits").
REAL_REFERENCES = {
    "m00": ("obama_1.jpg", "obama_2.jpg", "obama_3.jpg"),
    "m01": ("kit_1.jpg", "kit_3.jpg", "rose_1.jpg"),
}
REAL_ASSETS = ("obama_4_small.jpg", "biden_2.jpg", "rose_2.jpg", "alex_2.jpg", "alex_3.jpg")
# Corpus files that are the same picture as another although the corpus manifest does not mark
# them derived: obama_4_small.jpg is a small crop of obama_1.jpg (same pixels, same instant).
SAME_PICTURE = {"obama_4_small.jpg": "obama_1.jpg"}

_NOISE_TILE = 512


@dataclass(frozen=True)
class Spec:
    """What one asset is: its kind, and for a copy the reference it was made from."""

    rel: str
    kind: str
    source: str | None = None


def _rng(*key: int) -> np.random.Generator:
    return np.random.default_rng(list(key))


def _noise(rng: np.random.Generator, tile: np.ndarray) -> np.ndarray:
    """Sensor-like noise for a full frame, cut from a shared tile at a random offset."""
    w, h = SIZE
    reps = (h // _NOISE_TILE + 2, w // _NOISE_TILE + 2, 1)
    big = np.tile(tile, reps)
    y, x = rng.integers(0, _NOISE_TILE, 2)
    return big[y : y + h, x : x + w]


def _texture(rng: np.random.Generator, size: tuple[int, int], shapes: int) -> Image.Image:
    """A photo-like synthetic picture: soft colour fields plus hard-edged shapes (corners)."""
    w, h = size
    low = rng.integers(0, 256, (6, 5, 3), dtype=np.uint8)
    img = Image.fromarray(low).resize((w, h), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(img)
    for _ in range(shapes):
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
        x1 = x0 + int(rng.integers(20, max(21, w // 3)))
        y1 = y0 + int(rng.integers(20, max(21, h // 3)))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        kind = int(rng.integers(0, 3))
        if kind == 0:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        elif kind == 1:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.line((x0, y0, x1, y1), fill=colour, width=int(rng.integers(2, 12)))
    return img


def _subject(rng: np.random.Generator, backdrop: Image.Image) -> Image.Image:
    """A "person" before ``backdrop``: a head and a body of random colours and pose."""
    img = backdrop.copy()
    w, h = img.size
    # A silhouette covering about a third of the frame, as in a full-length studio shot, filled
    # with the detail of its own clothes and face (a person is not a flat shape).
    cx = int(w * rng.uniform(0.35, 0.65))
    head = int(w * rng.uniform(0.1, 0.15))
    top = int(h * rng.uniform(0.08, 0.2))
    body_w = int(head * rng.uniform(2.4, 3.2))
    mask = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(mask)
    draw.rounded_rectangle(
        (cx - body_w, top + 2 * head, cx + body_w, h), radius=head // 2, fill=255
    )
    draw.ellipse((cx - head, top, cx + head, top + int(2.4 * head)), fill=255)
    clothes = _texture(rng, (w, h), int(rng.integers(20, 40)))
    img.paste(clothes, (0, 0), mask)
    return img


def _smooth(rng: np.random.Generator) -> Image.Image:
    low = rng.integers(0, 256, (3, 2, 3), dtype=np.uint8)
    img = Image.fromarray(low).resize(SIZE, Image.Resampling.BICUBIC)
    return img.filter(ImageFilter.GaussianBlur(30))


def _finish(img: Image.Image, rng: np.random.Generator, tile: np.ndarray, amount: float) -> Image:
    arr = np.asarray(img.convert("RGB"), dtype=np.int16)
    arr = arr + (_noise(rng, tile) * amount).astype(np.int16)
    return Image.fromarray(arr.clip(0, 255).astype(np.uint8))


def _fit(img: Image.Image) -> Image.Image:
    return ImageOps.fit(img.convert("RGB"), SIZE, Image.Resampling.BICUBIC)


def _copy_of(ref: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A retoucher's copy: crop 70-90 % per side, sometimes mirrored, resized, regraded."""
    w, h = ref.size
    fw, fh = rng.uniform(0.7, 0.9, 2)
    cw, ch = int(w * fw), int(h * fh)
    x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    out = ref.crop((x, y, x + cw, y + ch))
    if rng.random() < 0.35:
        out = ImageOps.mirror(out)
    if rng.random() < 0.3:
        out = Image.eval(out, lambda v: min(255, int(v * 1.08)))
    return out.resize(SIZE, Image.Resampling.BICUBIC)


class _Builder:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tile = _rng(7).normal(0, 1, (_NOISE_TILE, _NOISE_TILE, 3)).astype(np.float32)
        self.shared_backdrop = _texture(_rng(8), SIZE, 40).filter(ImageFilter.GaussianBlur(1))
        self.refs: list[tuple[str, Path]] = []

    def references(self) -> None:
        for m in range(MODELS):
            mid = f"m{m:02d}"
            mdir = self.root / "models" / mid
            rdir = mdir / "references"
            rdir.mkdir(parents=True, exist_ok=True)
            (mdir / "model.toml").write_text(f'display_name = "Model {m:02d}"\n')
            real = REAL_REFERENCES.get(mid, ())
            backdrop = _texture(_rng(100, m), SIZE, 30).filter(ImageFilter.GaussianBlur(2))
            for r in range(REFS_PER_MODEL):
                path = rdir / f"ref{r}.jpg"
                self.refs.append((mid, path))
                if path.exists():
                    continue
                rng = _rng(200, m, r)
                if r < len(real) and (CORPUS_FACES / real[r]).is_file():
                    with Image.open(CORPUS_FACES / real[r]) as im:
                        img = _fit(im)
                else:
                    img = _finish(_subject(rng, backdrop), rng, self.tile, 4)
                img.save(path, quality=92)

    def specs(self, n: int) -> Iterator[Spec]:
        real = [p for p in REAL_ASSETS if (CORPUS_FACES / p).is_file()]
        for i in range(n):
            mid = f"m{i % MODELS:02d}"
            rel = f"assets/{mid}/batch{i // 1000:02d}/img{i:05d}.jpg"
            rng = _rng(300, i)
            roll = rng.random()
            if i < len(real) * 7 and i % 7 == 3:
                yield Spec(rel, "portrait", real[i // 7])
            elif roll < 0.02:
                ref_mid, ref_path = self.refs[int(rng.integers(0, len(self.refs)))]
                yield Spec(rel, "copy", f"models/{ref_mid}/references/{ref_path.name}")
            elif roll < 0.12:
                yield Spec(rel, "backdrop")
            elif roll < 0.17:
                yield Spec(rel, "smooth")
            else:
                yield Spec(rel, "distinct")

    def asset(self, spec: Spec, index: int) -> None:
        path = self.root / spec.rel
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        rng = _rng(400, index)
        if spec.kind == "portrait":
            with Image.open(CORPUS_FACES / str(spec.source)) as im:
                img = _fit(im)
        elif spec.kind == "copy":
            with Image.open(self.root / str(spec.source)) as im:
                img = _copy_of(im.convert("RGB"), rng)
        elif spec.kind == "backdrop":
            img = _finish(_subject(rng, self.shared_backdrop), rng, self.tile, 4)
        elif spec.kind == "smooth":
            img = _finish(_smooth(rng), rng, self.tile, 2)
        else:
            img = _finish(_texture(rng, SIZE, int(rng.integers(15, 60))), rng, self.tile, 5)
        img.save(path, quality=int(rng.integers(80, 95)))


def build(root: Path, assets: int, *, faces: bool = False, quiet: bool = False) -> dict[str, Spec]:
    """Create (or extend) the workspace at ``root`` with ``assets`` assets; return the truth.

    ``faces`` turns the likeness check on in its (unsigned) ``twinreview.toml``. The ground
    truth is also written to ``root.parent / (root.name + ".manifest.json")``.
    """
    root.mkdir(parents=True, exist_ok=True)
    (root / "twinreview.toml").write_text(
        '[workspace]\nname = "Scale benchmark"\n\n'
        f"[similarity.likeness]\nenabled = {str(faces).lower()}\n"
    )
    b = _Builder(root)
    b.references()
    truth: dict[str, Spec] = {}
    for i, spec in enumerate(b.specs(assets)):
        b.asset(spec, i)
        truth[spec.rel] = spec
        if not quiet and (i + 1) % 500 == 0:
            print(f"  {i + 1} / {assets} assets", file=sys.stderr)
    manifest = root.parent / f"{root.name}.manifest.json"
    manifest.write_text(json.dumps({rel: [s.kind, s.source] for rel, s in truth.items()}, indent=0))
    return truth


def read_truth(root: Path) -> dict[str, Spec]:
    """The ground truth :func:`build` wrote for ``root``."""
    raw = json.loads((root.parent / f"{root.name}.manifest.json").read_text())
    return {rel: Spec(rel, kind, source) for rel, (kind, source) in raw.items()}


def true_duplicate(a: Spec, b: Spec) -> bool:
    """Whether two assets are copies of each other by construction (or of one corpus photo)."""
    if a.kind == "copy" and b.kind == "copy":
        return a.source == b.source
    if a.kind == "copy" and b.kind == "portrait":
        return true_copy(b, str(a.source))
    if b.kind == "copy" and a.kind == "portrait":
        return true_copy(a, str(b.source))
    return False


def shared_backdrop(a: Spec, b: Spec) -> bool:
    """Whether two assets are shots on one shared backdrop (most of their pixels alike).

    The campaign's one-backdrop shoot; and copies of two synthetic reference photos of one
    model, each a subject on that model's backdrop.
    """
    if a.kind == b.kind == "backdrop":
        return True
    if a.kind != "copy" or b.kind != "copy" or a.source == b.source:
        return False
    ma, mb = _synthetic_reference_model(str(a.source)), _synthetic_reference_model(str(b.source))
    return ma is not None and ma == mb


def _synthetic_reference_model(reference: str) -> str | None:
    """The model whose synthetic reference photo ``reference`` is (None: a real photo or none)."""
    parts = reference.split("/")  # models/<model>/references/ref<i>.jpg
    if len(parts) != 4 or not parts[3].startswith("ref"):
        return None
    i = int(parts[3].removeprefix("ref").removesuffix(".jpg") or -1)
    return parts[1] if i >= len(REAL_REFERENCES.get(parts[1], ())) else None


def true_copy(spec: Spec, reference: str) -> bool:
    """Whether an asset is (made from) the reference photo ``reference`` (workspace-relative)."""
    if spec.kind == "copy":
        return spec.source == reference
    if spec.kind != "portrait" or spec.source not in SAME_PICTURE:
        return False
    parts = reference.split("/")  # models/<model>/references/ref<i>.jpg
    if len(parts) != 4 or not parts[3].startswith("ref"):
        return False
    real = REAL_REFERENCES.get(parts[1], ())
    i = int(parts[3].removeprefix("ref").removesuffix(".jpg") or -1)
    return 0 <= i < len(real) and real[i] == SAME_PICTURE[spec.source]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", type=Path)
    ap.add_argument("--assets", type=int, default=2000)
    args = ap.parse_args()
    truth = build(args.root, args.assets)
    kinds: dict[str, int] = {}
    for s in truth.values():
        kinds[s.kind] = kinds.get(s.kind, 0) + 1
    print(json.dumps({"assets": len(truth), "kinds": kinds}))


if __name__ == "__main__":
    main()
