"""``twinreview publish`` and ``twinreview check-published``.

``publish WS OUTDIR --signer-cert CHAIN.pem [--signer-key KEY.pem] [--asset PATH]... [--label]
[--no-training]`` writes a copy of each cleared asset (or of the ones named) into OUTDIR, with the
IPTC digital source type, the person shown and her consent in XMP and a C2PA manifest signed
with the brand's certificate that binds them and carries the sign-off
(``services.publish.publisher``), and records each file as a signed ``published`` entry in the
publisher's own log (their reviewer key, from the OS keyring). Without ``--signer-key`` the brand's
key comes from the OS keyring (``twinreview keys import-c2pa``). Exit 0 when everything was
published; 1 when an asset was refused (one line each; nothing is written); 2 for usage errors, an
unusable OUTDIR or a certificate C2PA refuses.

``check-published FILE... --export EXPORT_DIR [--trust-anchor PEM]... [--workspace WS]
[--owner FINGERPRINT] [--json]`` checks each file's sign-off against an export of the signed logs
(``services.publish.check``): a trusted signer, decisions that still stand, the published image
data equal to the approved. It first names the export's workspace and owner key, and whether
that owner is pinned on this device or given with ``--owner``; when neither, that line is a
warning and each ``ok`` says to check the owner's fingerprint with the brand (still exit 0: the
files passed against that export). Exit 0 only when every file passes; 1 otherwise (one line per
reason); 2 when the export itself (or its owner, against ``--owner`` or the pin) or a trust
anchor file cannot be used.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from twinreview.cli.main import EXIT_CHECK_FAILED, EXIT_OK, EXIT_USAGE
from twinreview.cli.text import escape_field as esc
from twinreview.cli.text import say
from twinreview.core.disclosure import DisclosureConfigError
from twinreview.core.workspace import Workspace
from twinreview.services.compose import default_cache_path, make_executor
from twinreview.services.export_check import ExportCheckError
from twinreview.services.keys import IdentityStore, KeysError, KeyService, KeyStore
from twinreview.services.publish.check import (
    TrustAnchorError,
    check_published,
    read_trust_anchor,
)
from twinreview.services.publish.publisher import PublishError, PublishOptions, publish_workspace
from twinreview.services.publish.register import PublishRegister
from twinreview.services.publish.signer import C2paKeyStore, SignerError, load_credentials
from twinreview.services.scan.cache import ResultCache
from twinreview.services.status import cached_sha256
from twinreview.services.trust import TrustStore, Verifier


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``publish`` and ``check-published`` subcommands."""
    p = sub.add_parser(
        "publish",
        help="publish cleared assets with Content Credentials that carry the sign-off",
        description="Copy each cleared asset (or each --asset) into OUTDIR with the IPTC digital "
        "source type in its XMP and a C2PA manifest signed with the brand's certificate, "
        "declaring the AI generation and naming the signed decisions that cleared it. Offline; "
        "the workspace is only read. OUTDIR must be absent or empty; if any named asset is "
        "refused, nothing is written.",
    )
    p.add_argument("workspace", type=Path, metavar="WS", help="workspace folder")
    p.add_argument("outdir", type=Path, metavar="OUTDIR", help="destination folder")
    p.add_argument(
        "--signer-cert",
        type=Path,
        required=True,
        metavar="CHAIN.pem",
        help="the brand's C2PA signing certificate, then its issuers (PEM)",
    )
    p.add_argument(
        "--signer-key",
        type=Path,
        metavar="KEY.pem",
        help="its private key (PEM); default: the key 'twinreview keys import-c2pa' stored in "
        "the OS keyring",
    )
    p.add_argument(
        "--asset",
        action="append",
        default=[],
        metavar="PATH",
        help="publish this asset only (repeatable); it must be cleared",
    )
    p.add_argument(
        "--label", action="store_true", help="stamp the workspace's visible AI label in a corner"
    )
    p.add_argument(
        "--no-training",
        action="store_true",
        help="declare AI training and data mining not allowed (c2pa.training-mining)",
    )
    p.set_defaults(func=run_publish)

    c = sub.add_parser(
        "check-published",
        help="check a published image's sign-off against an export of the signed logs",
        description="For each FILE, check that its C2PA manifest is intact and signed by a "
        "certificate that chains to a trust anchor (those the owner signed into the export's "
        "policy, or --trust-anchor), read its org.twinreview.signoff assertion and check every "
        "decision it names against EXPORT_DIR (made by 'twinreview export'): the decision is "
        "there, verifies, still stands, and approved the image data the file holds. Needs no "
        "workspace, except for a labelled image: its pixels outside the label are compared with "
        "the approved file, and without --workspace it does not pass. Exit 0 only when every "
        "file passes.",
    )
    c.add_argument("files", nargs="+", type=Path, metavar="FILE", help="published images")
    c.add_argument(
        "--export", type=Path, required=True, metavar="EXPORT_DIR", help="a twinreview export"
    )
    c.add_argument(
        "--trust-anchor",
        type=Path,
        action="append",
        default=[],
        metavar="PEM",
        help="also trust C2PA signers that chain to this CA certificate (repeatable)",
    )
    c.add_argument(
        "--workspace",
        type=Path,
        metavar="WS",
        help="the workspace: a labelled image's pixels outside the label are compared with the "
        "approved file (a labelled image does not pass without it)",
    )
    c.add_argument(
        "--owner",
        metavar="FINGERPRINT",
        help="the workspace owner's key fingerprint (SHA256:...), as checked with the brand: "
        "the export must be of that owner's workspace (not needed when this device pinned it)",
    )
    c.add_argument("--json", action="store_true", help="print one JSON list, one record per file")
    c.set_defaults(func=run_check)


def _error(message: str) -> int:
    say(f"twinreview: {message}", file=sys.stderr)
    return EXIT_USAGE


def run_publish(args: argparse.Namespace) -> int:
    """``publish`` with the system keyring: the reviewer key and the brand's C2PA key."""
    return cmd_publish(
        args,
        C2paKeyStore.from_system,
        lambda: PublishRegister(KeyService(KeyStore.from_system(), IdentityStore.default())),
    )


def cmd_publish(
    args: argparse.Namespace,
    keystore: Callable[[], C2paKeyStore],
    register: Callable[[], PublishRegister],
) -> int:
    """Publish; print what was written (or refused); return the exit code.

    Args:
        args: The parsed command line.
        keystore: Where the brand's C2PA key is, when --signer-key is not given.
        register: Records each file in the signed log of this device's reviewer key.
    """
    ws = Workspace.open(args.workspace)
    try:
        recorder = register()
        store = keystore() if args.signer_key is None else None
        credentials = load_credentials(args.signer_cert, args.signer_key, store)
    except (SignerError, KeysError) as exc:
        return _error(str(exc))
    named = [_asset_rel(ws, a) for a in args.asset] or None
    options = PublishOptions(label=args.label, no_training=args.no_training)

    def progress(done: int, total: int, rel: str) -> None:
        if sys.stderr.isatty():
            print(f"\rpublished {done}/{total}: {esc(rel)}\x1b[K", file=sys.stderr, end="")

    cache = ResultCache(default_cache_path())
    try:
        with make_executor() as pool:
            result = publish_workspace(
                ws,
                args.outdir,
                credentials,
                register=recorder,
                assets=named,
                options=options,
                verify=Verifier.default().verify,
                progress=progress,
                executor=pool,
                sha256_of=lambda a: cached_sha256(cache, a),
            )
    except (PublishError, DisclosureConfigError) as exc:
        return _error(str(exc))
    finally:
        cache.close()
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if result.refused:
        for r in result.refused:
            say(f"twinreview: {r.asset}: {r.reason}", file=sys.stderr)
        say(
            f"twinreview: {len(result.refused)} asset(s) refused; nothing was written to "
            f"{args.outdir}",
            file=sys.stderr,
        )
        return EXIT_CHECK_FAILED
    if not result.published:
        say("twinreview: no asset is cleared; nothing to publish", file=sys.stderr)
        return EXIT_CHECK_FAILED
    for item in result.published:
        kind = item.source_type.rsplit("/", 1)[-1]
        say(f"published {item.output}  ({kind}; signed off by {', '.join(item.approvals)})")
    say(
        f"twinreview: {len(result.published)} file(s) written to {args.outdir}, "
        f"signed by {credentials.subject}; each recorded in your signed log "
        "('twinreview published' lists them)",
        file=sys.stderr,
    )
    return EXIT_OK


def _asset_rel(ws: Workspace, given: str) -> str:
    """A workspace-relative posix path for ``--asset`` (relative to WS, or a real path)."""
    path = Path(given)
    for candidate in (path, Path.cwd() / path):
        try:
            return candidate.resolve().relative_to(ws.root.resolve()).as_posix()
        except (ValueError, OSError):
            continue
    return path.as_posix()


def run_check(args: argparse.Namespace) -> int:
    """``check-published``: one verdict per file; return the exit code."""
    anchors: list[str] = []
    for pem in args.trust_anchor:
        try:
            anchors.append(read_trust_anchor(pem))
        except TrustAnchorError as exc:
            return _error(f"--trust-anchor {pem}: {exc}")
    try:
        checks = check_published(
            args.files,
            args.export,
            trust=TrustStore.default(),
            trust_anchors=anchors,
            workspace=args.workspace,
            owner=args.owner,
        )
    except ExportCheckError as exc:
        return _error(f"{args.export}: {exc}")
    if args.json:
        json.dump([c.to_json() for c in checks], sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    owner = checks[0].owner if checks else None
    if owner is not None and not args.json:
        say(owner.summary() if owner.known else f"warning: {owner.summary()}")
    for c in checks:
        if c.ok and c.signoff is not None:
            who = ", ".join(f"{d.principal} ({d.role})" for d in c.signoff.decisions)
            # A pass against an export nobody tied to the brand says so on its own line.
            ok = (
                "ok"
                if c.owner is None or c.owner.known
                else f"ok (owner not pinned: check {c.owner.fingerprint} with the brand)"
            )
            line = (
                f"{ok}: {c.path}: {c.signoff.asset} approved by {who}; "
                f"{len(c.signoff.decisions)} decision(s) verified against the export"
            )
            if not args.json:
                say(line)
                for note in c.notes:
                    say(f"  {note}")
        else:
            for problem in c.problems:
                say(f"twinreview: {c.path}: {problem}", file=sys.stderr)
    return EXIT_OK if checks and all(c.ok for c in checks) else EXIT_CHECK_FAILED
