"""Contracts: the committed JSON Schema is current; subjects and error envelopes behave."""

from __future__ import annotations

import msgspec
import pytest

from contracts import subjects
from contracts.errors import ErrorCode, from_validation_error
from contracts.export import SCHEMA_DIR, render
from contracts.procedures import GetProcedure


def test_committed_schema_is_up_to_date():
    rendered = render()
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in SCHEMA_DIR.glob("*.json")}
    assert on_disk.keys() == rendered.keys(), "run `aizu contracts export`"
    stale = [name for name, text in rendered.items() if on_disk[name] != text]
    assert not stale, f"stale schema {stale}: run `aizu contracts export`"


def test_subjects_carry_the_tenant():
    assert subjects.request("kitakata", "procedures", "list") == "aizu.kitakata.procedures.list"
    assert subjects.endpoint("procedures", "list") == "aizu.*.procedures.list"
    assert subjects.event("kitakata", "application", "submitted") == "aizu.evt.kitakata.application.submitted"
    assert subjects.tenant_of("aizu.showa.procedures.get") == "showa"


@pytest.mark.parametrize("subject", ["aizu.evt.kitakata.application", "other.kitakata.procedures.get", "aizu.kitakata"])
def test_tenant_of_refuses_other_shapes(subject):
    with pytest.raises(ValueError):
        subjects.tenant_of(subject)


def test_a_validation_error_names_the_field():
    with pytest.raises(msgspec.ValidationError) as caught:
        msgspec.json.decode(b'{"code": 5}', type=GetProcedure)
    envelope = from_validation_error(caught.value).envelope
    assert envelope.code is ErrorCode.VALIDATION
    assert [f.field for f in envelope.fields] == ["$.code"]
    assert "Expected `str`" in envelope.fields[0].message_en


def test_schema_descriptions_lose_docstring_indentation_whatever_msgspec_does():
    # msgspec before 0.23 kept a docstring's indentation in "description", 0.23 strips it: the
    # export must be the same bytes under both.
    from contracts.export import normalised

    kept = {"$defs": {"A": {"description": "First line.\n\n    Second, indented.", "properties": {}}}}
    stripped = {"$defs": {"A": {"description": "First line.\n\nSecond, indented.", "properties": {}}}}
    assert normalised(kept) == normalised(stripped) == stripped


@pytest.mark.parametrize(
    ("body", "deep"),
    [
        (b"[" * 32 + b"]" * 32, False),
        (b"[" * 33 + b"]" * 33, True),
        (b'{"a": {"b": [1, {"c": [2]}]}}', False),
        (b'{"a": "' + b"[" * 100 + b'"}', False),  # brackets in a string are text
        (b'{"a": "\\"' + b"[" * 100 + b'"}', False),  # an escaped quote does not end the string
        (b'{"a": ' + b"{" * 40 + b"}" * 40 + b"}", True),
        (b"[[[", False),  # unbalanced: the decoder calls it malformed
    ],
)
def test_the_nesting_limit_counts_only_structure(body, deep):
    from contracts.limits import depth_exceeds

    assert depth_exceeds(body) is deep
