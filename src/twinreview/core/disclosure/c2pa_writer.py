"""Offline C2PA signing with c2pa-python's Builder, for publishing.

The signing context reuses the reader's offline settings (no remote manifest fetch, no OCSP, no
allowed network hosts) and the signer has no timestamp authority, so signing never reaches the
network. Thumbnails are off: generating them decodes the whole image (twice: claim and
ingredient), which would cost more than everything else publishing does.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import c2pa

from twinreview.core.disclosure.c2pa_reader import context_from, offline_settings
from twinreview.core.errors import TwinreviewError, one_line

_ALGS: Mapping[str, c2pa.C2paSigningAlg] = {
    "es256": c2pa.C2paSigningAlg.ES256,
    "es384": c2pa.C2paSigningAlg.ES384,
    "es512": c2pa.C2paSigningAlg.ES512,
    "ps256": c2pa.C2paSigningAlg.PS256,
    "ed25519": c2pa.C2paSigningAlg.ED25519,
}


class C2paSignError(TwinreviewError):
    """c2pa refused to sign; ``str(err)`` is one line."""


def signing_context(trust_anchors_pem: str | None = None) -> c2pa.Context:
    """An offline context for signing (and for reading back what was signed).

    Raises:
        C2paSignError: the SDK rejected the settings.
    """
    config = offline_settings(trust_anchors_pem)
    config["builder"] = {"thumbnail": {"enabled": False}}
    try:
        return context_from(config)
    except c2pa.C2paError as exc:
        raise C2paSignError(f"the C2PA signer rejected its settings: {one_line(exc)}") from None


def make_signer(alg: str, chain_pem: bytes, key_pem: bytes) -> c2pa.Signer:
    """A c2pa-python signer without a timestamp authority.

    Raises:
        C2paSignError: c2pa refused the certificate chain or key.
    """
    if alg not in _ALGS:
        raise C2paSignError(f"unknown signing algorithm {alg!r}")
    try:
        return c2pa.Signer.from_info(c2pa.C2paSignerInfo(_ALGS[alg], chain_pem, key_pem, None))
    except Exception as exc:  # noqa: BLE001 - C2paError subclasses and ctypes errors alike
        raise C2paSignError(f"C2PA refused the signing certificate: {one_line(exc)}") from None


def sign_asset(
    data: bytes,
    mime: str,
    manifest: Mapping[str, Any],
    ingredient: Mapping[str, Any],
    ingredient_data: bytes,
    signer: c2pa.Signer,
    context: c2pa.Context,
) -> bytes:
    """Embed a manifest built from ``manifest`` into ``data``, with one ingredient.

    Args:
        data: The asset to sign (its existing manifest store, if any, is replaced; the
            ingredient's own manifest is carried inside the new store).
        mime: Its MIME type.
        manifest: The manifest definition (claim generator, title, assertions).
        ingredient: The ingredient definition (title, relationship, instance id).
        ingredient_data: The ingredient's bytes (the reviewed file).
        signer: From :func:`make_signer`.
        context: From :func:`signing_context`.

    Returns:
        The signed file.

    Raises:
        C2paSignError: c2pa refused (certificate profile, unsupported format, damaged file).
    """
    try:
        with c2pa.Builder.from_json(dict(manifest), context) as builder:
            builder.add_ingredient(dict(ingredient), mime, io.BytesIO(ingredient_data))
            out = io.BytesIO()
            builder.sign(signer, mime, io.BytesIO(data), out)
            return out.getvalue()
    except Exception as exc:  # noqa: BLE001 - C2paError subclasses and ctypes errors alike
        raise C2paSignError(f"C2PA could not sign the file: {one_line(exc)}") from None


def read_store(data: bytes, mime: str | None, context: c2pa.Context) -> str:
    """The manifest store of ``data`` as c2pa-python's Reader gives it (JSON text).

    Raises:
        C2paSignError: no manifest, or one the reader cannot read.
    """
    try:
        with c2pa.Reader(mime or None, io.BytesIO(data), None, context) as reader:
            return str(reader.json())
    except Exception as exc:  # noqa: BLE001 - C2paError subclasses and ctypes errors alike
        raise C2paSignError(f"no readable Content Credentials: {one_line(exc)}") from None
