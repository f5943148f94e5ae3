"""Lync dates with and without an offset (issue 17 item 12), and the roles the topology probe
asks Lync for (item 11)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from auditor.facts.base import BadValueError, Known, Unknown, as_ps_datetime
from auditor.facts.lync_dates import NaiveDates
from auditor.facts.topology import ROLE_STORES
from auditor.probes.catalogue import HERE

TEN = dt.timedelta(hours=10)
UTC_8 = dt.datetime(2026, 11, 23, 20, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("text", ["2026-11-24T06:00:00+10:00", "2026-11-23T20:00:00Z",
                                  "/Date(1795464000000)/"])
def test_dates_with_a_zone_need_no_assumption(text: str) -> None:
    row = {"LastStatusReport": text}
    assert as_ps_datetime(row, "LastStatusReport") == UTC_8
    dates = NaiveDates(Unknown("no clock"))
    assert dates.read(row, "LastStatusReport") == UTC_8
    assert not dates.used


def test_a_naive_date_is_read_at_the_cms_servers_offset() -> None:
    row = {"LastStatusReport": "2026-11-24T06:00:00.123456"}
    with pytest.raises(BadValueError):
        as_ps_datetime(row, "LastStatusReport")
    dates = NaiveDates(Known(TEN, ("sql:server_time:SQLBNE01\\RTC",)))
    assert dates.read(row, "LastStatusReport") == UTC_8.replace(microsecond=123456)
    assert dates.used
    joined = dates.joined(Known((), ("lync:cms_replication:deployment",)))
    assert isinstance(joined, Known)
    assert joined.evidence_ids == ("lync:cms_replication:deployment",
                                   "sql:server_time:SQLBNE01\\RTC")


def test_a_naive_date_without_the_offset_is_not_guessed() -> None:
    dates = NaiveDates(Unknown("the clock of SQLBNE01\\RTC is unknown: timeout"))
    with pytest.raises(BadValueError, match=r"without a UTC offset.*SQLBNE01"):
        dates.read({"LastUpdateCreation": "2026-11-24T06:00:00"}, "LastUpdateCreation")


def test_the_topology_script_asks_for_every_database_role_the_comparison_knows() -> None:
    script = (HERE / "ps" / "database_services.ps1").read_text(encoding="utf-8")
    listed = re.search(r"\$switches = @\(([^)]*)\)", script)
    assert listed is not None
    switches = set(re.findall(r"'(\w+)'", listed.group(1)))
    assert switches == set(ROLE_STORES)
    assert "PersistentChatComplianceDatabase" in switches
    assert "Import-Module" not in script  # the session imports the module once, explicitly
