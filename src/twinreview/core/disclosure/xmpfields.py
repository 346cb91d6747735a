"""Read the XMP fields a published copy carries about who is in it and under which consent.

The properties (IPTC Photo Metadata and PLUS):

- ``Iptc4xmpExt:DigitalSourceType``: the digital source type;
- ``Iptc4xmpExt:PersonInImage``: names of the people shown (a bag of text);
- ``Iptc4xmpExt:PersonInImageWDetails``: people shown with details (a bag of structures with
  ``Iptc4xmpExt:PersonName``, a language alternative, and ``Iptc4xmpExt:PersonId``, a bag);
- ``plus:ModelReleaseStatus``: a PLUS vocabulary URI (``.../MR-LMR``: limited releases);
- ``plus:ModelReleaseID``: a bag of release identifiers;
- ``Iptc4xmpExt:AISystemUsed``: the AI system that made the image;
- ``plus:DataMining``: a PLUS vocabulary URI (``.../DMI-PROHIBITED``).

:func:`read_fields` returns them as plain JSON values (text, lists, ``{"x-default": ...}`` for a
language alternative, a dict per structure), the same shape the publisher signs in the
``c2pa.metadata`` assertion, so the two can be compared as they are. Parsing uses defusedxml,
like every XMP reader here.
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

import defusedxml
import defusedxml.ElementTree as SafeET

from twinreview.core.disclosure.xmp import MAX_ELEMENTS, NS_IPTC_EXT, NS_RDF, decode_packet

NS_PLUS = "http://ns.useplus.org/ldf/xmp/1.0/"
NS_XML = "http://www.w3.org/XML/1998/namespace"
_PREFIXES = {NS_IPTC_EXT: "Iptc4xmpExt", NS_PLUS: "plus"}
PUBLISHED_PROPERTIES = frozenset(
    {
        "Iptc4xmpExt:DigitalSourceType",
        "Iptc4xmpExt:PersonInImage",
        "Iptc4xmpExt:PersonInImageWDetails",
        "plus:ModelReleaseStatus",
        "plus:ModelReleaseID",
        "Iptc4xmpExt:AISystemUsed",
        "plus:DataMining",
    }
)
_DESCRIPTION = f"{{{NS_RDF}}}Description"
_RESOURCE = f"{{{NS_RDF}}}resource"
_PARSE_TYPE = f"{{{NS_RDF}}}parseType"
_LANG = f"{{{NS_XML}}}lang"
_CONTAINERS = {f"{{{NS_RDF}}}{n}" for n in ("Bag", "Seq")}
_ALT = f"{{{NS_RDF}}}Alt"
_LI = f"{{{NS_RDF}}}li"


def read_fields(packet: bytes) -> dict[str, Any]:
    """The published-copy properties of one XMP packet (absent ones left out; see the module).

    Never raises: an unreadable packet has no fields.
    """
    text = decode_packet(packet)
    if text is None:
        return {}
    text = text.lstrip("\ufeff \t\r\n")
    if text.startswith("<?xml"):
        text = text[text.find("?>") + 2 :]
    try:
        root = SafeET.fromstring(text.rstrip("\x00 \t\r\n"), forbid_dtd=False)
    except (defusedxml.DefusedXmlException, SafeET.ParseError, ValueError, RecursionError):
        return {}
    out: dict[str, Any] = {}
    for count, element in enumerate(root.iter(_DESCRIPTION)):
        if count >= MAX_ELEMENTS:
            break
        for name, value in element.attrib.items():
            short = _short(name)
            if short in PUBLISHED_PROPERTIES:
                out.setdefault(short, value)
        for child in element:
            short = _short(child.tag)
            if short in PUBLISHED_PROPERTIES:
                out.setdefault(short, _value(child, 0))
    return out


def _short(tag: str) -> str:
    if not tag.startswith("{"):
        return tag
    ns, _, local = tag[1:].partition("}")
    prefix = _PREFIXES.get(ns)
    return f"{prefix}:{local}" if prefix else tag


def _value(element: Element, depth: int) -> Any:
    if depth > 8:
        return None
    resource = element.get(_RESOURCE)
    if resource is not None:
        return resource
    for child in element:
        if child.tag in _CONTAINERS:
            return [_value(li, depth + 1) for li in child if li.tag == _LI]
        if child.tag == _ALT:
            return {li.get(_LANG, "x-default"): (li.text or "") for li in child if li.tag == _LI}
    if element.get(_PARSE_TYPE) == "Resource":
        return {_short(c.tag): _value(c, depth + 1) for c in element}
    return element.text or ""
