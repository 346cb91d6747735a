"""The scan's data: the files it reads and what it learned of each, progress, cache keys.

A scan reads every reference photo and asset once (:mod:`twinreview.services.scan.analyse`) into
a :class:`Corpus`: the references and the assets, each with its :class:`Analysis`. The later
phases (:mod:`~twinreview.services.scan.match`, :mod:`~twinreview.services.scan.likeness`) and the
façade (:mod:`twinreview.services.scan.service`) read the corpus; an asset is named by its index in
``Corpus.assets``.

Every key and version under which the scan caches something is built here, and only here.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from twinreview.core.disclosure import DisclosureReport
from twinreview.core.findings import Finding
from twinreview.core.similarity import geometry, hashing
from twinreview.core.similarity import match as similarity
from twinreview.core.workspace import AssetRef

# Bump when imageio or the fields stored under "analysis" change; hashing.VERSION covers the hashes.
ANALYSIS_VERSION = "3"

ANALYSIS_CACHE_VERSION = f"{ANALYSIS_VERSION}/{hashing.VERSION}"
"""Version of the ``analysis`` rows (facts and fingerprint), keyed by content sha256."""


def analysis_version(reference: bool) -> str:
    """Version of an ``analysis`` row.

    A reference photo's row holds other descriptors (those of its fine image) than the same
    bytes as an asset's.
    """
    return f"{ANALYSIS_CACHE_VERSION}/reference" if reference else ANALYSIS_CACHE_VERSION


GEOMETRY_CACHE_VERSION = f"geometry/{geometry.VERSION}"

CROPS_ASSET_VERSION = f"crops-asset/1/{geometry.VERSION}/{ANALYSIS_CACHE_VERSION}"
"""Version of the ``crops-asset`` rows: one asset's local-feature candidates against the
references (:mod:`twinreview.services.scan.crops`)."""

BATCH_CROPS_VERSION = f"batch-crops/1/{geometry.VERSION}/{ANALYSIS_CACHE_VERSION}"
"""Version of the ``batch-crops`` rows: the local-feature candidates within a workspace's batch."""


def crops_asset_key(
    asset_sha: str, ref_shas: list[str], th: similarity.SimilarityThresholds
) -> str:
    """Cache key of one asset's candidates against the references.

    Its content, every reference's in order, and the thresholds (which pairs the hashes
    decide, and so are not proposed again).
    """
    text = "|".join([asset_sha, _references_text(tuple(ref_shas), th)])
    return hashlib.sha256(text.encode()).hexdigest()


@functools.lru_cache(maxsize=8)
def _references_text(ref_shas: tuple[str, ...], th: similarity.SimilarityThresholds) -> str:
    """The part of :func:`crops_asset_key` every asset of a scan shares (made once a scan)."""
    return "|".join([",".join(ref_shas), repr(dataclasses.astuple(th))])


BATCH_PAIRS_VERSION = f"batch-pairs/1/{hashing.VERSION}/{ANALYSIS_CACHE_VERSION}"
"""Version of the ``batch-pairs`` rows: the hash candidates within a workspace's batch."""


def batch_pairs_key(scope: str, th: similarity.SimilarityThresholds) -> str:
    """Cache key of a workspace's hash candidates within its batch (like the crops')."""
    text = f"batch-pairs|{scope}|{dataclasses.astuple(th)!r}"
    return hashlib.sha256(text.encode()).hexdigest()


def batch_crops_key(scope: str, th: similarity.SimilarityThresholds) -> str:
    """Cache key of a workspace's candidates within its batch: its folder and the thresholds."""
    text = f"batch-crops|{scope}|{dataclasses.astuple(th)!r}"
    return hashlib.sha256(text.encode()).hexdigest()


"""Version of the ``geometry`` rows (verdicts of geometric verification, per pair of contents)."""


def disclosure_cache_version(
    inspector: DisclosureInspector, path: Path, *, sidecar: bool = True
) -> str:
    """Version of a file's ``disclosure`` row: the inspector's settings and the XMP sidecar.

    The report depends on the file and on its sidecar, so both are in the key. ``sidecar``
    False says the file's folder lists no sidecar for it (nothing to read).
    """
    return f"disclosure/{inspector.cache_key}/{inspector.sidecar_key(path) if sidecar else ''}"


def verdict_key(
    query_sha: str,
    ref_sha: str,
    mirrored: bool,
    th: similarity.SimilarityThresholds,
    *,
    fine: bool = False,
    fine_query: bool = False,
) -> str:
    """Cache key of a verdict: both contents, the orientation, the thresholds, the resolution.

    The thresholds decide whether the other orientation is tried; ``fine`` says the reference
    side was a fine image (:meth:`geometry.Prepared.fine`), ``fine_query`` the query side.
    """
    text = f"{query_sha}:{ref_sha}:{int(mirrored)}:{th.min_inliers}:{th.min_agreement}"
    if fine:
        text += f":fine{geometry.FINE_SIDE}x{geometry.FINE_FEATURES}"
    if fine_query:
        text += ":fine-query"
    return hashlib.sha256(text.encode()).hexdigest()


REFERENCE_MIN_SIDE = 480
"""Short side (px) that reference photos are decoded at: a fine image
(:data:`geometry.FINE_SIDE` px on the long side) is made from the same decode."""


def keypoints_of(features: geometry.Features | None) -> similarity.Keypoints | None:
    """The descriptors and positions of ``features``, or None."""
    return None if features is None else (features.descriptors, features.points)


def pack_keypoints(kp: similarity.Keypoints | None) -> str | None:
    """Keypoints as base64 (for the cache), or None.

    Per keypoint: 32 descriptor bytes and its position as two little-endian float16 fractions.
    """
    if kp is None:
        return None
    desc, pts = kp
    rows = np.concatenate(
        [
            np.ascontiguousarray(desc, dtype=np.uint8).reshape(-1, 32),
            np.ascontiguousarray(pts, dtype="<f2").reshape(-1, 2).view(np.uint8),
        ],
        axis=1,
    )
    return base64.b64encode(rows.tobytes()).decode("ascii")


def unpack_keypoints(text: Any) -> similarity.Keypoints | None:
    """Inverse of :func:`pack_keypoints`.

    Raises:
        ValueError: when malformed.
    """
    if text is None:
        return None
    if not isinstance(text, str):
        raise ValueError("keypoints must be a base64 string")
    raw = base64.b64decode(text.encode("ascii"), validate=True)
    if len(raw) % 36:
        raise ValueError("keypoints must be 36 bytes each")
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 36)
    pts = np.ascontiguousarray(rows[:, 32:]).view("<f2").astype(np.float32).reshape(-1, 2)
    if not np.all(np.isfinite(pts)):
        raise ValueError("keypoint positions must be finite")
    return np.ascontiguousarray(rows[:, :32]), pts


@dataclass(frozen=True)
class FileFacts:
    """Facts about a file a reviewer may want: original pixel size, format and byte size."""

    width: int | None
    height: int | None
    format: str | None
    size: int

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "width": self.width,
            "height": self.height,
            "format": self.format,
            "size": self.size,
        }


NO_FACTS = FileFacts(None, None, None, 0)
"""The facts of a file that could not be read at all."""


@dataclass(frozen=True)
class ScanProgress:
    """Progress report: ``done`` of ``total`` in ``phase`` (check, analyse, verify, match, faces).

    ``known`` is, during the face pass, the scan's result so far (a ``ScanResult`` with the
    copies and the disclosure, no likeness yet): usable before the scan ends.
    """

    done: int
    total: int
    phase: str
    current: str = ""
    known: Any = field(default=None, compare=False, repr=False)


class DisclosureInspector(Protocol):
    """Per-file disclosure check, run in a worker thread on the bytes the scan already read."""

    @property
    def cache_key(self) -> str:
        """Changes whenever settings that affect the report change (trust anchors, label...)."""
        ...

    def sidecar_key(self, path: Path) -> str:
        """Identifies metadata files next to ``path`` that the report depends on ("" if none)."""
        ...

    def inspect(self, data: bytes, path: Path) -> DisclosureReport:
        """Return the disclosure report; must not raise for bad input."""
        ...

    def findings(self, report: DisclosureReport) -> list[Finding]:
        """Turn a report into findings under the workspace policy."""
        ...


@dataclass(frozen=True)
class Analysis:
    """What phase 1 learned of one file.

    Attributes:
        sha256: Hex digest of its bytes (None when it could not be read at all).
        error: Why it could not be analysed, or None.
        facts: Pixel size, format, byte size.
        fingerprint: Its hashes (None when it could not be decoded).
        disclosure: The disclosure report, when an inspector ran.
        keypoints: ORB keypoints for the local-feature candidates (cached): an asset's of its
            working image as is; a reference's of its fine image, as is.
        keypoints_mirrored: A reference's fine image's, mirrored (None for an asset).
        keypoints_deferred: The keypoints are left in the result cache (an asset read from
            it): :meth:`Corpus.asset_keypoints` loads them when the crop stage needs them,
            so that a scan with nothing new never decodes them.
        work: The grey working image for geometric verification, kept for this scan only
            (never cached).
        grey: An asset's grey decode (its fine image is made from it), kept for this scan
            only.
        prepared: A reference's fine image prepared for verification, kept for this scan only.
        features: An asset's working image's features (as is), kept for this scan only.
        located: The faces located on this decode (a ``services.scan.faces.Located``), or
            found too small to describe from it (a ``Sighted``: the face pass aligns them on a
            larger decode), kept for the face pass of this scan only.
        quick_tried: The quick pass ran on this decode and found no usable face (the face
            pass of this scan goes straight to the larger decodes).
        quick_covered: When it found no face at all: the long side, in px, of the image it
            looked at (the larger decodes look only for the faces too small there); else 0.
        ambiguous: Why decoders may show it as different pictures under one image digest
            (``core.publish.imagedigest.ambiguity``), or None.
    """

    sha256: str | None
    error: str | None
    facts: FileFacts
    fingerprint: hashing.Fingerprint | None
    disclosure: DisclosureReport | None
    keypoints: similarity.Keypoints | None = field(default=None, compare=False, repr=False)
    keypoints_mirrored: similarity.Keypoints | None = field(default=None, compare=False, repr=False)
    keypoints_deferred: bool = field(default=False, compare=False, repr=False)
    work: geometry.GreyArray | None = field(default=None, compare=False, repr=False)
    grey: geometry.GreyArray | None = field(default=None, compare=False, repr=False)
    prepared: geometry.Prepared | None = field(default=None, compare=False, repr=False)
    features: geometry.Features | None = field(default=None, compare=False, repr=False)
    located: Any = field(default=None, compare=False, repr=False)
    quick_tried: bool = field(default=False, compare=False, repr=False)
    quick_covered: int = field(default=0, compare=False, repr=False)
    ambiguous: str | None = None

    @property
    def readable(self) -> bool:
        """True when the file was read and decoded."""
        return self.sha256 is not None and self.error is None


def unread(reason: str) -> Analysis:
    """The analysis of a file that could not be read at all."""
    return Analysis(None, reason, NO_FACTS, None, None)


@dataclass(frozen=True)
class ReferenceFile:
    """A reference photo of a model, as analysed."""

    model_id: str
    path: Path
    rel: str
    analysis: Analysis


@dataclass(frozen=True)
class AssetFile:
    """An asset, as analysed."""

    ref: AssetRef
    analysis: Analysis

    @property
    def path(self) -> Path:
        """Absolute path."""
        return self.ref.path

    @property
    def rel(self) -> str:
        """Workspace-relative posix path."""
        return self.ref.rel

    @property
    def model_id(self) -> str:
        """The ``assets/<model-id>/`` folder it is filed under."""
        return self.ref.model_id


@dataclass(frozen=True)
class Corpus:
    """Every file of one scan with its analysis: the references, then the assets.

    Attributes:
        references: The models' reference photos, model by model.
        assets: The assets in walk order; an asset is named by its index here.
        load_keypoints: Loads the keypoints an analysis left in the cache, by content
            (:attr:`Analysis.keypoints_deferred`).
    """

    references: tuple[ReferenceFile, ...]
    assets: tuple[AssetFile, ...]
    load_keypoints: Callable[[str], similarity.Keypoints | None] | None = field(
        default=None, compare=False, repr=False
    )

    def asset_keypoints(self, i: int) -> similarity.Keypoints | None:
        """Asset ``i``'s keypoints, loaded from the cache when they were left there."""
        an = self.assets[i].analysis
        if an.keypoints_deferred and an.sha256 is not None and self.load_keypoints is not None:
            return self.load_keypoints(an.sha256)
        return an.keypoints

    def fingerprinted_references(self) -> list[ReferenceFile]:
        """The references that were decoded, in order."""
        return [r for r in self.references if r.analysis.fingerprint is not None]

    def fingerprinted_assets(self) -> list[int]:
        """Indices of the assets that were decoded, in order."""
        return [i for i, a in enumerate(self.assets) if a.analysis.fingerprint is not None]


def fingerprint_of(an: Analysis) -> hashing.Fingerprint:
    """The fingerprint of an analysis known to have one."""
    assert an.fingerprint is not None
    return an.fingerprint
