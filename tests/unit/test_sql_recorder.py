"""A value with no canonical JSON form ends one probe as `error`, not the whole collection."""

from __future__ import annotations

import datetime as dt

from auditor.collect.sql_collector import Fetched, _Recorder
from auditor.evidence import ObservationStatus
from auditor.inventory import SqlInstance

STARTED = dt.datetime(2026, 11, 25, 1, 0, tzinfo=dt.UTC)


def _recorder() -> _Recorder:
    return _Recorder(SqlInstance.model_validate({
        "server_name": "SQL01\\RTC", "host": "sql01.example.com", "role": "back_end"}))


def test_rows_are_recorded_in_canonical_form() -> None:
    rows = Fetched(["name", "finished"], [("xds", dt.datetime(2026, 11, 24, 2, 0))])
    obs = _recorder().add("backup_history", STARTED, ObservationStatus.OK, rows=rows)
    assert obs.status is ObservationStatus.OK
    assert obs.data == [{"finished": "2026-11-24T02:00:00.000000", "name": "xds"}]


def test_unreadable_values_make_the_probe_an_error() -> None:
    recorder = _recorder()
    for value in (object(), float("nan"), float("inf")):
        obs = recorder.add("backup_history", STARTED, ObservationStatus.OK,
                           rows=Fetched(["size"], [(value,)]))
        assert obs.status is ObservationStatus.ERROR, value
        assert obs.error is not None
        assert obs.error.startswith("unreadable value:"), obs.error
        assert obs.data == []
    assert len(recorder.found) == 3
