"""Canonical rows built column by column equal the row-by-row canonical form, byte for byte."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest

from auditor.canonical import CanonicalRows, canonical_rows, sha256_of, to_json_value
from auditor.evidence import ObservationStatus, Source, make_observation

NAMES = ["name", "finished", "size", "family_guid", "damaged", "count", "blob", "ratio", "mixed"]
ROWS: list[tuple[Any, ...]] = [
    ("xds", dt.datetime(2026, 11, 24, 2, 15, 7, 120), Decimal("123456789012345678901234"),
     uuid.UUID("daca74b7-dbbf-450f-9882-578dec85619d"), False, 3, b"\x00\xff", 1.5, "text"),
    ("LcsCDR", None, None, None, None, None, None, None,
     dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),
    ("rtcxds", dt.datetime(2026, 11, 23, 23, 59, 59), Decimal("0"), None, True, 0, b"", 0.0,
     None),
]


def _observation(data: Any) -> Any:
    now = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
    return make_observation(source=Source.SQL, probe="p", target="t", started_at=now,
                            finished_at=now, status=ObservationStatus.OK, data=data)


def test_column_by_column_equals_row_by_row() -> None:
    rows = canonical_rows(NAMES, ROWS)
    slow = [to_json_value(dict(zip(NAMES, row, strict=True))) for row in ROWS]
    assert rows == slow
    assert sha256_of(rows) == sha256_of(slow)
    assert [list(row) for row in rows] == [sorted(NAMES)] * len(ROWS)
    assert rows[0]["finished"] == "2026-11-24T02:15:07.000120"
    assert rows[0]["size"] == "123456789012345678901234"
    assert rows[0]["family_guid"] == "DACA74B7-DBBF-450F-9882-578DEC85619D"
    assert rows[1]["mixed"] == "2026-01-01T00:00:00.000000+00:00"  # one odd value in a str column


def test_observation_takes_canonical_rows_as_they_are() -> None:
    fast = _observation(canonical_rows(NAMES, ROWS))
    slow = _observation([dict(zip(NAMES, row, strict=True)) for row in ROWS])
    assert fast.sha256 == slow.sha256
    assert fast.model_dump(mode="json") == slow.model_dump(mode="json")


def test_no_rows() -> None:
    rows = canonical_rows(NAMES, [])
    assert isinstance(rows, CanonicalRows)
    assert rows == []
    assert _observation(rows).sha256 == _observation([]).sha256


def test_a_value_without_canonical_form_is_refused() -> None:
    with pytest.raises(TypeError, match="no canonical JSON form for object"):
        canonical_rows(["odd"], [(object(),)])


def test_rows_that_do_not_match_the_columns_are_refused() -> None:
    with pytest.raises(ValueError, match="2 column names but rows of 1 values"):
        canonical_rows(["a", "b"], [(1,)])
    with pytest.raises(ValueError, match="zip"):  # rows of different lengths
        canonical_rows(["a"], [(1,), (1, 2)])
