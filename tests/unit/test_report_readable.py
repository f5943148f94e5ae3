"""Evidence and numbers a person reads: times with their zone, ages in a sensible unit, round axis
ticks, long paths that wrap at separators and long values shown whole."""

from __future__ import annotations

import datetime as dt

import pytest

from auditor.report.appendix import cell
from auditor.report.charts import nice_step, tick_label
from auditor.report.render import RenderContext, render_html, render_print_html
from auditor.report.text import duration, readable, time_text
from tests.unit.test_report_golden import ESTATES, demo_view


@pytest.mark.parametrize(("hours", "text"), [
    (67742.9, "7.7 years"), (76.0, "3 d 4 h"), (72.0, "3 d"), (49.0, "2 d 1 h"),
    (34.0, "34 h"), (5.5, "5 h 30 min"), (0.75, "45 min"), (0.0, "0 min"),
])
def test_duration_uses_the_largest_sensible_unit(hours: float, text: str) -> None:
    assert duration(hours) == text


def test_powershell_dates_become_iso_times_with_their_zone() -> None:
    assert time_text("/Date(1795463839000)/") == "2026-11-23 19:57:19 UTC"
    assert time_text("/Date(1795463839000+1000)/") == "2026-11-24 05:57:19 UTC+10:00"
    assert time_text("/Date(1795463839000-0600)/") == "2026-11-23 13:57:19 UTC-06:00"
    assert time_text("not a /Date(1)/ at all") is None


def test_server_local_times_get_the_servers_zone() -> None:
    ten = dt.timedelta(hours=10)
    assert cell("2026-11-15T01:01:27.830000", ten) == "2026-11-15 01:01:27 UTC+10:00"
    assert cell("2026-11-15T01:01:27.830000") == "2026-11-15 01:01:27 (server local time)"
    assert cell("/Date(1795463839000)/", ten) == "2026-11-23 19:57:19 UTC"  # it names its zone


def test_observed_values_are_whole_in_a_fixed_order() -> None:
    long = "x" * 2000
    assert readable(long) == long
    a = readable({"last_full_finished": None, "age_hours": 67742.9, "destinations": ["a"]})
    b = readable({"destinations": ["a"], "age_hours": 67742.9, "last_full_finished": None})
    assert a == b == "age: 7.7 years; destinations: a; last full finished: none"
    assert readable({"age_minutes": 4064505.0}) == "age: 7.7 years"


@pytest.mark.parametrize(("raw", "step", "labels"), [
    (5.0, 6.0, ["0 h", "6 h", "12 h", "18 h", "24 h"]),
    (13.0, 24.0, ["0 d", "1 d", "2 d", "3 d", "4 d"]),
    (100.0, 120.0, ["0 d", "5 d", "10 d", "15 d", "20 d"]),
    (20000.0, 26280.0, ["0 y", "3 y", "6 y", "9 y", "12 y"]),
])
def test_age_axis_ticks_are_round(raw: float, step: float, labels: list[str]) -> None:
    assert nice_step(raw) == step
    assert [tick_label(step * k, step) for k in range(5)] == labels


def test_long_paths_wrap_at_their_separators_in_print() -> None:
    unc = "\\\\bnebak01.fabrikam.com\\lyncexports\\2026-11-15\\CsConfig.zip"
    kept = str(RenderContext(screen=False).keep(f"copied to {unc} today"))
    assert kept.startswith("copied to \\\u2060\\\u2060bnebak01.fabrikam.com\\<wbr>lyncexports")
    assert kept.count("<wbr>") == 3  # never inside the leading \\
    assert "D:\u2060\\\u2060x.bak" in str(RenderContext(screen=False).keep("D:\\x.bak"))
    assert RenderContext().keep(unc) == unc  # the screen wraps on its own


@pytest.mark.parametrize("estate", ESTATES)
def test_demo_reports_show_no_raw_dates_and_cut_no_value(estate: str) -> None:
    view = demo_view(estate)
    for html in (render_html(view), render_print_html(view)):
        assert "/Date(" not in html
        assert "more characters" not in html
        assert "67742" not in html  # the neglected estate's 7.7-year-old backup, in hours
    if estate == "neglected":
        assert "7.7 years" in render_html(view)


def test_report_of_saved_results_lays_out_as_the_fresh_audit() -> None:
    """`auditor report` renders from results.json, `auditor demo` from the fresh evaluation: the
    same print HTML (so the same pages), whatever order the observed fields came in."""
    from auditor.evidence import read_bundle
    from auditor.report import build_view
    from auditor.results import Results, results_bytes
    from tests.unit.test_report_golden import DEMO, toolkit

    fresh = demo_view("drifted")
    kit = toolkit()
    loaded = kit.load_inventory(DEMO / "drifted" / "inventory.yaml")
    bundle, digest = read_bundle(DEMO / "drifted" / "evidence.json")
    results = kit.evaluate(bundle, digest, loaded, kit.load_waivers(loaded, None))
    saved = Results.model_validate_json(results_bytes(results))
    again = build_view(saved, kit.pack, loaded.inventory, bundle, results.now,
                       evidence_bytes=(DEMO / "drifted" / "evidence.json").read_bytes())
    assert render_print_html(again) == render_print_html(fresh)
