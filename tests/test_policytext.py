"""The workspace policy in words (core.policytext): every setting described, values said plainly,
and edits that write only what changed."""

from __future__ import annotations

import re

import pytest

from twinreview.core.policytext import (
    SETTINGS,
    SEVERITY,
    VERDICTS,
    is_set,
    policy_sentences,
    unknown_keys,
    value_of,
    value_words,
    with_value,
)
from twinreview.core.settings import settings_from_config


def _setting(*path: str) -> object:
    [found] = [s for s in SETTINGS if s.path == path]
    return found


def test_every_setting_has_words_and_a_default_the_parser_accepts() -> None:
    tables: dict[str, object] = {}
    for s in SETTINGS:
        assert s.label and s.help and s.group, s.path
        # No key names or codes in what people read.
        assert not re.search(r"[a-z]_[a-z]|\[", s.label), s.label
        tables = with_value(tables, s, s.default)
    assert tables == {}  # defaults are never written
    settings_from_config({})  # and the defaults parse


def test_defaults_are_the_parsers_defaults() -> None:
    parsed = settings_from_config({})
    for s in SETTINGS:
        if s.kind == SEVERITY:
            table, kind = s.path[0], s.path[-1]
            severities = (
                parsed.disclosure.severities if table == "disclosure" else parsed.severities
            )
            assert severities[kind].label == s.default, s.path
    approvable = _setting("disclosure", "approvable")
    assert sorted(v.value for v in parsed.disclosure.approvable) == value_of({}, approvable)


def test_with_value_writes_only_the_change_and_keeps_what_it_does_not_know() -> None:
    signed = {"similarity": {"undecided": 9, "severity": {"near_copy_of_reference": "Block"}}}
    near = _setting("similarity", "severity", "near_copy_of_reference")
    assert value_of(signed, near) == "block"  # the tables' spelling is case-insensitive
    assert with_value(signed, near, "block") == signed
    changed = with_value(signed, near, "warn")
    assert changed["similarity"]["severity"] == {"near_copy_of_reference": "warn"}
    assert changed["similarity"]["undecided"] == 9
    assert signed["similarity"]["severity"]["near_copy_of_reference"] == "Block"  # not mutated
    approvable = _setting("disclosure", "approvable")
    both = with_value({}, approvable, ["partial", "disclosed"])
    assert both == {}  # the default, in another order
    only = with_value({}, approvable, ["disclosed"])
    assert only == {"disclosure": {"approvable": ["disclosed"]}}
    settings_from_config(only)
    label = _setting("disclosure", "label")
    assert with_value({"disclosure": {"label": "a.png"}}, label, None) == {"disclosure": {}}


@pytest.mark.parametrize(
    ("path", "value", "words"),
    [
        (
            ("disclosure", "approvable"),
            ["disclosed", "partial"],
            "fully disclosed, partly disclosed",
        ),
        (("disclosure", "approvable"), [], "none (nothing can be approved)"),
        (("similarity", "severity", "duplicate_in_batch"), "info", "a note only"),
        (("similarity", "likeness", "enabled"), False, "off"),
        (("disclosure", "trust_anchors"), [], "none"),
        (("similarity", "likeness", "threshold"), 0.55, "0.55"),
    ],
)
def test_values_are_said_plainly(path: tuple[str, ...], value: object, words: str) -> None:
    said = value_words(_setting(*path), value)  # type: ignore[arg-type]
    assert said == words or (words.endswith("…") and said.startswith(words[:-1])), said


def test_sentences_name_what_the_tables_set_and_nothing_else() -> None:
    tables = {
        "disclosure": {"approvable": ["disclosed"], "severity": {"label_missing": "block"}},
        "similarity": {"likeness": {"enabled": False}, "undecided": 9, "odd": 1},
    }
    lines = policy_sentences(tables)
    assert lines[0] == "AI disclosure a reviewer may approve: fully disclosed"
    assert "Face check: off" in lines
    assert "The visible AI label missing: blocks approval" in lines
    assert lines[-1] == "similarity.odd: 1"  # unknown keys are said as they are, last
    assert unknown_keys(tables) == ["similarity.odd"]  # read-by-nothing keys are not unknown
    assert sum(1 for s in SETTINGS if is_set(tables, s)) == 3
    assert all(s.kind != VERDICTS or s.path == ("disclosure", "approvable") for s in SETTINGS)
    assert policy_sentences({}) == []


def test_the_signed_copies_of_trust_anchors_are_said_in_words_not_as_keys() -> None:
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    tables = {
        "disclosure": {
            "trust_anchors": ["demo-c2pa-ca.pem", "brand/demo-brand-ca.pem"],
            "trust_anchor_certs": {"demo-c2pa-ca.pem": pem, "brand/demo-brand-ca.pem": pem},
        }
    }
    lines = policy_sentences(tables)
    assert not any("trust_anchor" in line or "BEGIN" in line for line in lines), lines
    assert unknown_keys(tables) == []
    assert (
        "Certificates signed into these rules (a changed file in the folder does not count): "
        "demo-c2pa-ca.pem, brand/demo-brand-ca.pem" in lines
    ), lines
