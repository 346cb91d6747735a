"""The signed roster in the app: trust on first use, the roster screen, joining, a model's consent.

One module per screen; this package names them:

- :class:`TrustDialog`: asked once when a workspace's owner is not pinned on this device; shows
  the owner's key fingerprint to check by phone or in person.
- :class:`RosterDialog`: people, join requests (Approve), the signed policy and who set it, roster
  problems; "Join this workspace" and "My consent" for the identity.
- :class:`JoinDialog`: choose models, write the signed join request.
- :class:`ConsentDialog`: a model gives, narrows or withdraws her consent in plain words.

The dialogs read :attr:`ReviewSession.roster` (a Qt-free
:class:`~twinreview.ui.roster_view.RosterView`) and make changes through
:meth:`ReviewSession.roster_action`, which runs the service call on a worker. Every dialog opens
with ``open()`` and reports through signals; no nested event loop.
"""

from __future__ import annotations

from twinreview.ui.roster.consent_dialog import ConsentDialog
from twinreview.ui.roster.join_dialog import JoinDialog
from twinreview.ui.roster.roster_dialog import RosterDialog
from twinreview.ui.roster.trust_banner import TrustBanner
from twinreview.ui.roster.trust_dialog import TrustDialog, mismatch_text

__all__ = [
    "ConsentDialog",
    "JoinDialog",
    "RosterDialog",
    "TrustBanner",
    "TrustDialog",
    "mismatch_text",
]
