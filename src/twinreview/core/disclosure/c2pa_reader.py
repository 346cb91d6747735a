"""Offline C2PA reading and classification with c2pa-python.

The library's defaults reach the network: ``verify.remote_manifest_fetch`` is true (a file that
only points to a manifest URL makes the reader download it) and OCSP revocation checks may fetch
too. :func:`offline_settings` turns both off and, as a second lock, gives the SDK an empty list of
allowed network hosts, so that even a future default that fetches something else cannot. The
settings keys are not validated by the SDK (a misspelt key is silently ignored), which is why the
tests prove the absence of connections at the OS level rather than trusting the spelling.

A :class:`c2pa.Context` is built once and shared: the binding reserves it for shared (read-only)
native calls, so many threads may create readers from it at the same time.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import c2pa

from twinreview.core.disclosure.model import (
    ACTIVE_MANIFEST,
    C2paReport,
    C2paState,
    FoundSourceType,
)
from twinreview.core.disclosure.vocabulary import classify
from twinreview.core.errors import one_line

# Failure codes that say "we cannot vouch for who signed this" rather than "the content or the
# manifest was changed". C2PA 2.x validation status codes, plus the CAWG identity equivalents.
_CREDENTIAL_PREFIXES: tuple[str, ...] = (
    "signingCredential.",
    "timeStamp.untrusted",
    "timeStamp.outsideValidity",
    "cawg.x509.credential.",
    "cawg.identity.credential.",
    "cawg.ica.credential.",
)

# Last segments of status codes that report success or a skipped check; everything else found in
# a recorded ingredient status list is a failure.
_NON_FAILURE_SUFFIXES: frozenset[str] = frozenset(
    {"validated", "match", "trusted", "insideValidity", "notRevoked", "skipped", "success"}
)

_REMOTE_URL = re.compile(r"from url (\S+)|remote URI \"([^\"]+)\"")


def offline_settings(
    trust_anchors_pem: str | None = None, *, allowed_list_pem: str | None = None
) -> dict[str, Any]:
    """Return the c2pa settings document for offline reading.

    Args:
        trust_anchors_pem: PEM bundle of extra trust anchors (the brand's CA, the C2PA trust
            list). They are added to the SDK's built-in anchors (``trust.user_anchors``).
        allowed_list_pem: PEM bundle of end-entity certificates trusted as such.

    Returns:
        The settings as a dict, ready for :meth:`c2pa.Settings.from_dict`.
    """
    settings: dict[str, Any] = {
        "verify": {
            "remote_manifest_fetch": False,
            "ocsp_fetch": False,
            "verify_trust": True,
            "verify_timestamp_trust": True,
        },
        "core": {"allowed_network_hosts": []},
    }
    trust: dict[str, str] = {}
    if trust_anchors_pem:
        trust["user_anchors"] = trust_anchors_pem
    if allowed_list_pem:
        trust["allowed_list"] = allowed_list_pem
    if trust:
        settings["trust"] = trust
    return settings


def make_context(
    trust_anchors_pem: str | None = None, *, allowed_list_pem: str | None = None
) -> c2pa.Context:
    """Build the shared offline :class:`c2pa.Context`.

    Raises:
        ValueError: when the SDK rejects the settings (for example a PEM bundle it cannot parse),
            with a one-line message.
    """
    config = offline_settings(trust_anchors_pem, allowed_list_pem=allowed_list_pem)
    try:
        return context_from(config)
    except c2pa.C2paError as exc:
        raise ValueError(f"the C2PA reader rejected the trust settings: {one_line(exc)}") from None


def context_from(config: dict[str, Any]) -> c2pa.Context:
    """A :class:`c2pa.Context` built from a settings dict (the settings object is freed).

    Raises:
        c2pa.C2paError: the SDK rejected the settings.
    """
    settings = c2pa.Settings.from_dict(config)
    try:
        return c2pa.Context(settings=settings)
    finally:
        settings.close()


def read_c2pa(
    data: bytes, mime: str | None, context: c2pa.Context, *, trust_configured: bool
) -> C2paReport:
    """Read and classify the C2PA manifest store embedded in ``data``.

    Never raises: every failure becomes a state and a note.

    Args:
        data: The whole file.
        mime: The sniffed MIME type, or None to let the SDK detect it from the bytes.
        context: The shared offline context from :func:`make_context`.
        trust_configured: Whether the workspace named trust anchors (changes the notes).
    """
    if mime == "image/jpeg" and not jpeg_may_hold_c2pa(data):
        return C2paReport(C2paState.ABSENT)
    try:
        with c2pa.Reader(mime or None, io.BytesIO(data), None, context) as reader:
            store_json = reader.json()
    except Exception as exc:  # noqa: BLE001 - C2paError subclasses, ctypes and I/O errors alike
        return _from_error(exc, data)
    try:
        store = json.loads(store_json)
    except ValueError as exc:
        return C2paReport(
            C2paState.UNREADABLE,
            failures=(f"json: {one_line(exc)}",),
            notes=("The C2PA reader returned data that could not be parsed.",),
        )
    try:
        return _classify_store(_as_dict(store), trust_configured=trust_configured)
    except Exception as exc:  # noqa: BLE001 - hostile manifests may have any JSON shape
        return C2paReport(
            C2paState.UNREADABLE,
            failures=(f"structure: {one_line(exc)}",),
            notes=("The C2PA manifest has an unexpected structure and could not be interpreted.",),
        )


# JPEG markers: start of scan, APP1 (XMP, Exif), APP11 (JUMBF: where C2PA lives), and the ones
# that stand alone (no length): TEM and the restart markers.
_SOS, _APP1, _APP11 = 0xDA, 0xE1, 0xEB
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
# How an XMP packet names a remote manifest (dcterms:provenance), in each encoding XMP allows.
_PROVENANCE = tuple("provenance".encode(e) for e in ("utf-8", "utf-16-le", "utf-16-be"))


def jpeg_may_hold_c2pa(data: bytes) -> bool:
    """False when a JPEG's header segments hold no C2PA manifest nor a pointer to a remote one.

    The C2PA reader reads a JPEG's manifest store from its APP11 (JUMBF) segments before the
    image data, and a remote manifest's address from the XMP's ``dcterms:provenance``: a file
    with neither has no Content Credentials to read, and the reader (which would read every byte
    of the file to say so) is not asked. Anything unexpected (a damaged or truncated header, no
    image data) says True: the reader then decides, and says what it found.

    Args:
        data: The whole file.
    """
    if not data.startswith(b"\xff\xd8"):
        return True
    pos, end = 2, len(data)
    while pos < end:
        if data[pos] != 0xFF:
            return True
        while pos < end and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= end:
            return True
        marker = data[pos]
        pos += 1
        if marker in _STANDALONE:
            continue
        if marker == _SOS:
            return False
        if marker == _APP11 or pos + 2 > end:
            return True
        seg_end = pos + int.from_bytes(data[pos : pos + 2], "big")
        if seg_end - pos < 2 or seg_end > end:
            return True
        if marker == _APP1 and any(data.find(p, pos, seg_end) >= 0 for p in _PROVENANCE):
            return True
        pos = seg_end
    return True


def _from_error(exc: BaseException, data: bytes) -> C2paReport:
    message = one_line(exc)
    evidence = (f"{type(exc).__name__.lstrip('_').replace('C2pa', 'C2paError.', 1)}: {message}",)
    if message.startswith("ManifestNotFound"):
        return C2paReport(C2paState.ABSENT)
    if message.startswith("Remote"):
        match = _REMOTE_URL.search(message)
        url = (match.group(1) or match.group(2)) if match else None
        return C2paReport(
            C2paState.REMOTE_ONLY,
            failures=evidence,
            remote_url=url,
            notes=(
                "The file carries no Content Credentials of its own; it only points to a manifest "
                f"on the network{f' ({url})' if url else ''}. twinreview never fetches it, so "
                "nothing about this file's origin was verified.",
            ),
        )
    if message.startswith("NotSupported"):
        return C2paReport(
            C2paState.ABSENT,
            failures=evidence,
            notes=(
                "The C2PA reader could not handle this file (unsupported type or damaged data); "
                "no Content Credentials were read.",
            ),
        )
    if "could not be parsed" in message and not _has_c2pa_jumbf(data):
        # The container itself is damaged (e.g. a TIFF with thousands of sub-IFDs): we cannot say
        # the manifest is unreadable when the bytes hold no C2PA box at all.
        return C2paReport(
            C2paState.ABSENT,
            failures=evidence,
            notes=("The file structure could not be parsed; its bytes contain no C2PA manifest.",),
        )
    return C2paReport(
        C2paState.UNREADABLE,
        failures=evidence,
        notes=(
            "The file carries Content Credentials that cannot be read or checked (damaged, "
            "pre-release or unsupported): they prove nothing about this file.",
        ),
    )


def _has_c2pa_jumbf(data: bytes) -> bool:
    # A JUMBF superbox ('jumb') whose description box ('jumd') is labelled c2pa.
    return b"jumd" in data and b"c2pa" in data


def _classify_store(store: dict[str, Any], *, trust_configured: bool) -> C2paReport:
    manifests = _as_dict(store.get("manifests"))
    active_label = store.get("active_manifest")
    active = _as_dict(manifests.get(active_label)) if isinstance(active_label, str) else {}
    titles = _ingredient_titles(manifests)

    active_failures, ingredient_failures = _failure_codes(store)
    recorded = _recorded_ingredient_failures(manifests)
    failures = tuple(dict.fromkeys([*active_failures, *ingredient_failures, *recorded]))

    lib_state = str(store.get("validation_state") or "")
    integrity = [
        c for c in (*active_failures, *ingredient_failures, *recorded) if not _is_credential(c)
    ]
    credential = [c for c in (*active_failures, *ingredient_failures) if _is_credential(c)]

    notes: list[str] = []
    if integrity:
        state = C2paState.INVALID_INTEGRITY
        notes.append(
            "The Content Credentials do not match the file or were altered after signing "
            f"({', '.join(dict.fromkeys(integrity))}): treat the file as tampered."
        )
    elif lib_state == "Invalid":
        state = C2paState.INVALID_CREDENTIAL_ONLY
        notes.append(
            "The file is unchanged since it was signed, but the signing certificate is not "
            f"acceptable ({', '.join(dict.fromkeys(credential)) or 'credential check failed'}): "
            "who signed it cannot be confirmed."
        )
    elif lib_state == "Trusted":
        state = C2paState.TRUSTED
        notes.append(
            "The file is unchanged since it was signed by a certificate on your trust list."
        )
    else:
        state = C2paState.VALID_UNTRUSTED
        if trust_configured:
            notes.append(
                "The file is unchanged since it was signed, but the signer is not on the "
                "workspace's trust list."
            )
        else:
            notes.append(
                "The file is unchanged since it was signed, but no trust list is configured: this "
                "shows the file was not altered after signing, not that the signer is who the "
                "certificate claims."
            )

    if not manifests:
        notes.append("The manifest store holds no manifest.")
    signature = _as_dict(active.get("signature_info"))
    signer = _str_or_none(signature.get("common_name")) or _str_or_none(signature.get("issuer"))
    return C2paReport(
        state=state,
        failures=failures,
        source_types=tuple(_source_types(manifests, active_label, titles)),
        signer=signer,
        signer_issuer=_str_or_none(signature.get("issuer")),
        generator=_generator(active),
        software_agents=tuple(dict.fromkeys(_software_agents(manifests))),
        notes=tuple(notes),
        training_mining=_training_mining(active),
    )


def _failure_codes(store: dict[str, Any]) -> tuple[list[str], list[str]]:
    results = store.get("validation_results")
    if isinstance(results, dict):
        active = [
            _code(item) for item in _as_list(_as_dict(results.get("activeManifest")).get("failure"))
        ]
        ingredient: list[str] = []
        for delta in _as_list(results.get("ingredientDeltas")):
            delta = _as_dict(delta)
            where = _ingredient_from_uri(str(delta.get("ingredientAssertionURI") or ""))
            for item in _as_list(_as_dict(delta.get("validationDeltas")).get("failure")):
                ingredient.append(f"{_code(item)} ({where})")
        return [c for c in active if c], ingredient
    # Older stores only have a flat validation_status list of failures.
    return [c for c in (_code(item) for item in _as_list(store.get("validation_status"))) if c], []


def _recorded_ingredient_failures(manifests: Mapping[str, Any]) -> list[str]:
    """Failures the signer recorded for an ingredient when it was added.

    An ingredient whose own manifest failed validation keeps that status in its ingredient
    assertion; the active manifest still validates, but the history it builds on does not.
    """
    out: list[str] = []
    for manifest in manifests.values():
        for ing in _as_list(_as_dict(manifest).get("ingredients")):
            ing = _as_dict(ing)
            title = _str_or_none(ing.get("title")) or "untitled"
            codes = [_code(item) for item in _as_list(ing.get("validation_status"))]
            results = _as_dict(ing.get("validation_results"))
            codes += [
                _code(item)
                for item in _as_list(_as_dict(results.get("activeManifest")).get("failure"))
            ]
            for code in codes:
                if (
                    code
                    and code.rsplit(".", 1)[-1] not in _NON_FAILURE_SUFFIXES
                    and not _is_credential(code)
                ):
                    out.append(f"{code} (ingredient {title})")
    return out


def _is_credential(code: str) -> bool:
    return code.startswith(_CREDENTIAL_PREFIXES)


def _code(item: Any) -> str:
    if isinstance(item, dict):
        return str(item.get("code") or "")
    return str(item) if isinstance(item, str) else ""


def _ingredient_titles(manifests: Mapping[str, Any]) -> dict[str, str]:
    """Map a manifest label to the title of the ingredient that embeds it."""
    titles: dict[str, str] = {}
    for manifest in manifests.values():
        for ing in _as_list(_as_dict(manifest).get("ingredients")):
            ing = _as_dict(ing)
            label = ing.get("active_manifest")
            if isinstance(label, str):
                titles.setdefault(label, _str_or_none(ing.get("title")) or "untitled")
    return titles


def _ingredient_from_uri(uri: str) -> str:
    # self#jumbf=/c2pa/<label of the manifest holding the ingredient assertion>/c2pa.assertions/...
    parts = uri.split("/c2pa/", 1)
    label = parts[1].split("/", 1)[0] if len(parts) == 2 else ""
    return f"ingredient of manifest {label}" if label else "ingredient"


def _source_types(
    manifests: Mapping[str, Any], active_label: Any, titles: Mapping[str, str]
) -> Iterator[FoundSourceType]:
    order = sorted(manifests, key=lambda label: label != active_label)
    for label in order:
        manifest = _as_dict(manifests[label])
        is_active = label == active_label
        role = (
            ACTIVE_MANIFEST
            if is_active
            else f"ingredient manifest ({titles.get(label, 'unreferenced')})"
        )
        for assertion in _as_list(manifest.get("assertions")):
            assertion = _as_dict(assertion)
            name = str(assertion.get("label") or "assertion")
            for path, value in _find_source_types(assertion.get("data"), ""):
                yield FoundSourceType(
                    value=classify(value).uri, where=f"{role} {label}: {name}{path}"
                )


def _find_source_types(node: Any, path: str, depth: int = 0) -> Iterator[tuple[str, str]]:
    """Yield ``(path, value)`` for every key ending in ``digitalSourceType`` (any case).

    That covers the standard action field, action parameters such as
    ``com.adobe.digitalSourceType``, templates, and the IPTC assertion's
    ``Iptc4xmpExt:DigitalSourceType``.
    """
    if depth > 12:
        return
    if isinstance(node, dict):
        for key, value in node.items():
            key_s = str(key)
            sub = f"{path}.{key_s}" if _plain_key(key_s) else f"{path}[{key_s!r}]"
            if key_s.lower().endswith("digitalsourcetype") and isinstance(value, str):
                yield sub, value
            else:
                yield from _find_source_types(value, sub, depth + 1)
    elif isinstance(node, list):
        for i, item in enumerate(node[:1000]):
            label = f"{path}[{i}]"
            if isinstance(item, dict) and isinstance(item.get("action"), str):
                label += f" ({item['action']})"
            yield from _find_source_types(item, label, depth + 1)


def _plain_key(key: str) -> bool:
    return key.isidentifier()


def _software_agents(manifests: Mapping[str, Any]) -> Iterator[str]:
    for manifest in manifests.values():
        for assertion in _as_list(_as_dict(manifest).get("assertions")):
            data = _as_dict(_as_dict(assertion).get("data"))
            for action in _as_list(data.get("actions")):
                agent = _as_dict(action).get("softwareAgent")
                text = _agent_text(agent)
                if text:
                    yield text


def _agent_text(agent: Any) -> str | None:
    if isinstance(agent, str):
        return agent.strip() or None
    if isinstance(agent, dict):
        name = _str_or_none(agent.get("name"))
        version = _str_or_none(agent.get("version"))
        if name:
            return f"{name} {version}" if version else name
    return None


# The training-and-data-mining assertion: CAWG's current label first, C2PA's older one after.
TRAINING_LABELS: tuple[str, ...] = ("cawg.training-mining", "c2pa.training-mining")


def _training_mining(manifest: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    by_label = {
        a.get("label"): a.get("data")
        for a in _as_list(manifest.get("assertions"))
        if isinstance(a, dict)
    }
    for label in TRAINING_LABELS:
        entries = _as_dict(_as_dict(by_label.get(label)).get("entries"))
        if entries:
            out = []
            for name, entry in sorted(entries.items())[:32]:
                use = _as_dict(entry).get("use")
                short = str(name).removeprefix("cawg.").removeprefix("c2pa.")
                if isinstance(use, str):
                    out.append((short, use))
            # One use per entry, as the JSON form (an object) keeps it.
            return tuple(dict(out).items())
    return ()


def _generator(manifest: Mapping[str, Any]) -> str | None:
    infos = manifest.get("claim_generator_info")
    if isinstance(infos, list) and infos:
        text = _agent_text(infos[0])
        if text:
            return text
    return _str_or_none(manifest.get("claim_generator"))


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _as_list(value: Any) -> Sequence[Any]:
    return value if isinstance(value, list) else ()


def _str_or_none(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None
