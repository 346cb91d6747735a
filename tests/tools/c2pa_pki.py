"""Throwaway certificate chains for signing C2PA test files (tests and the demo maker).

c2pa-rs requires of a signing certificate: X.509 v3, a critical key usage with
digitalSignature, an extended key usage from the C2PA list (emailProtection here; never
anyExtendedKeyUsage), not a CA, and an authority key identifier pointing at its issuer. The
demo's brand chain is built the same way, by the same function.
"""

from __future__ import annotations

import datetime

from twinreview.services.demo_brand import SigningChain as Pki
from twinreview.services.demo_brand import make_signing_chain

__all__ = ["Pki", "make_pki"]


def make_pki(organisation: str, not_after: datetime.datetime, name: str = "") -> Pki:
    """A fresh ES256 root CA and a signing certificate it issued, both valid until ``not_after``.

    The common names are ``<name> root CA`` and ``<name> signer`` (``name`` defaults to the
    organisation).
    """
    name = name or organisation
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    return make_signing_chain(
        organisation,
        f"{name} root CA",
        f"{name} signer",
        now - datetime.timedelta(days=1),
        not_after,
    )
