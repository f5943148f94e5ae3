"""`auditor demo --estate drifted` rendered once; the tests are tests/demoreport.py's."""

from __future__ import annotations

import pytest

from tests.demoreport import (
    Rendered,
    render,
    test_demo_pdfs_hold_no_raw_dates_cut_values_or_placeholders,
    test_demo_report_holds_score_practices_and_failures,
    test_no_page_holds_less_than_five_lines,
    test_pdf_pdfa_and_report_have_the_same_pages,
    test_pdfa_carries_its_bundle_file_byte_for_byte,
)

__all__ = [
    "test_demo_pdfs_hold_no_raw_dates_cut_values_or_placeholders",
    "test_demo_report_holds_score_practices_and_failures",
    "test_no_page_holds_less_than_five_lines",
    "test_pdf_pdfa_and_report_have_the_same_pages",
    "test_pdfa_carries_its_bundle_file_byte_for_byte",
]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Rendered]:
    return render("drifted", tmp_path_factory)
