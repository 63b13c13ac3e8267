"""CSV cells are spreadsheet-safe (OWASP's CSV-injection rule) and the rule is undone on import."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldkit.core.interchange import FORMULA_STARTS, from_sheet, spreadsheet_safe

OWASP_PAYLOADS = [
    '=HYPERLINK("http://evil.example","Open")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "  =1+1",
    "\uff1d1+1",
    "'=1+1",
]


@pytest.mark.parametrize("payload", OWASP_PAYLOADS)
def test_a_cell_a_spreadsheet_would_evaluate_starts_with_an_apostrophe(payload: str) -> None:
    assert spreadsheet_safe(payload) == "'" + payload


@pytest.mark.parametrize("plain", ["water", "", "12 Oak Lane", "it's fine", "'tis", "a=b", " "])
def test_plain_text_is_written_as_it_is(plain: str) -> None:
    assert spreadsheet_safe(plain) == plain
    assert from_sheet(plain) == plain


@given(st.text(alphabet=st.sampled_from([*FORMULA_STARTS, "'", " ", "a", "1"]) | st.characters()))
def test_import_undoes_exactly_what_export_did(cell: str) -> None:
    assert from_sheet(spreadsheet_safe(cell)) == cell


@given(st.text())
def test_no_safe_cell_starts_a_formula(cell: str) -> None:
    assert spreadsheet_safe(cell).lstrip(" ")[:1] not in FORMULA_STARTS
