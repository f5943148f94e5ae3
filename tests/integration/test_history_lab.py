"""Acceptance: three audits of a lab estate that changes between them (a backup added, a job
broken, a waiver expiring), then a partial audit; `history diff` shows exactly the changed
findings, the report shows them, and the partial audit resolves nothing outside its scope.
The same test runs on a SQLite store and on a PostgreSQL store in the lab cluster."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor.lab.cluster import LabCluster, quote_ident
from tests.integration.remedkit import Estate, cli, make_estate, use_env

BNE, CHI = "SQLBNE01\\RTC", "SQLCHI01\\RTC"
RGS = "database:SQLBNE01\\RTC/rgsconfig"
QOE = "database:SQLMON01\\LYNCMON/QoEMetrics"
DEVICE = "\\\\bnebak01.fabrikam.com\\sqlbackup\\SQLBNE01$RTC\\rgsconfig\\FULL\\rgsconfig_hist.bak"

# Hand-written: what each change does to the findings, and nothing else.
# The full backup of rgsconfig (taken in the policy window, 10 minutes after it opens) resolves
# its 29-hour-old full (BR-001); the recorded share listing and encryption probe (replayed, as
# the lab cannot serve them) do not know the new file: BR-050 fails (not on the share) and
# BR-042 cannot assess it. The failed outcome of SQLCHI01's full backup job fails BR-061.
AFTER_BACKUP_AND_JOB = {
    ("resolved", "BR-001", RGS, "fail", "pass"),
    ("regressed", "BR-042", RGS, "pass", "error"),
    ("regressed", "BR-050", RGS, "pass", "fail"),
    ("regressed", "BR-061", "instance:SQLCHI01\\RTC", "pass", "fail"),
}
# The waiver on QoEMetrics' differential-only days ran out: its BR-002 fail counts again.
AFTER_WAIVER_EXPIRED = {("regressed", "BR-002", QOE, "waived", "fail")}


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The history settings for the inventory: a SQLite file, or a database in the lab
    cluster reached over TCP with a password from the environment (never in the URL)."""
    if request.param == "sqlite":
        yield {"url": str(tmp_path / "history.sqlite")}
        return
    lab: LabCluster = request.getfixturevalue("lab")
    name, login, password = f"history_{uuid.uuid4().hex[:8]}", f"hist_{uuid.uuid4().hex[:6]}", \
        secrets.token_urlsafe(16)
    lab.create_login(login, password)
    lab.execute(f"CREATE DATABASE {quote_ident(name)} OWNER {quote_ident(login)}")
    monkeypatch.setenv("HISTORY_TEST_PASSWORD", password)
    monkeypatch.setenv("PGPASSWORD", password)  # the history commands: libpq's own variable
    yield {"url": f"postgresql://{login}@127.0.0.1:{lab.port}/{name}",
           "credential": {"kind": "env", "name": "HISTORY_TEST_PASSWORD", "username": login}}


def _window_start(inventory: Path) -> str:
    """The policy window's start as HH:MM (YAML reads an unquoted 07:48 as minutes)."""
    policy = yaml.safe_load(inventory.read_text(encoding="utf-8"))["policy"]
    start = policy["backup_window"]["start"]
    return f"{start // 60:02d}:{start % 60:02d}" if isinstance(start, int) else str(start)


def _add_backup(estate: Estate) -> None:
    estate.sql(BNE, "SELECT lab.record_backup('rgsconfig', 'D', ?, true, true)", (DEVICE,))
    at = f"interval '{_window_start(estate.inventory)}' + interval '10 minutes'"
    estate.sql(BNE, f"UPDATE dbo.backupset SET backup_start_date = date_trunc('day', "  # noqa: S608
               f"lab.local_now() - ({at})) + {at}, backup_finish_date = date_trunc('day', "
               f"lab.local_now() - ({at})) + {at} + interval '5 minutes' "
               "WHERE backup_set_id = (SELECT max(backup_set_id) FROM dbo.backupset)")


def _job_outcome(estate: Estate, status: int) -> None:
    estate.sql(CHI, "SELECT lab.history(job_id, 0, '(Job outcome)', ?, 'The job ended.') FROM "
               "dbo.sysjobs WHERE name = 'DatabaseBackup - USER_DATABASES - FULL'", (status,))


def _changes(diff: dict[str, Any]) -> set[tuple[str, str, str, str | None, str | None]]:
    return {(c["category"], c["rule_id"], c["subject_id"], c["before"], c["after"])
            for c in diff["changes"] if c["category"] != "still_open"}


def _oracle(before: Path, after: Path) -> set[tuple[str, str]]:
    """Independently of history: the (rule, subject) whose status differs between two
    results files."""
    def statuses(path: Path) -> dict[tuple[str, str], str]:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {(f["rule_id"], f["subject"]["id"]): f["status"] for f in data["findings"]}
    a, b = statuses(before), statuses(after)
    return {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}


@pytest.mark.pg
@pytest.mark.slow
def test_three_audits_then_a_partial_one(lab: LabCluster, tmp_path: Path, store: dict[str, Any],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    estate = make_estate(lab, tmp_path, f"hist{uuid.uuid4().hex[:6]}", {"history": store},
                         source="drifted")
    use_env(estate, monkeypatch)
    monkeypatch.delenv("AUDITOR_HISTORY")  # the inventory names the store
    url = store["url"]

    def audit(n: int, *extra: str | Path, code: int = 1) -> Path:
        done = cli("audit", "--inventory", estate.inventory, "--replay", estate.lab.replay,
                   "--out", tmp_path / f"a{n}", "--format", "json", *extra)
        assert done.exit_code == code, done.output  # 1: the drifted estate has failed findings
        return tmp_path / f"a{n}" / "results.json"

    def history(*args: str) -> dict[str, Any]:
        done = cli("history", *args, "--history", url, "--json")
        assert done.exit_code == 0, done.output
        data: dict[str, Any] = json.loads(done.stdout)
        return data

    first = audit(1)
    _add_backup(estate)
    _job_outcome(estate, 0)
    second = audit(2)
    diff = history("diff")
    assert _changes(diff) == AFTER_BACKUP_AND_JOB
    assert {(c[1], c[2]) for c in AFTER_BACKUP_AND_JOB} == _oracle(first, second)
    assert diff["overall"]["score_before"] > diff["overall"]["score_after"]

    waivers = yaml.safe_load((estate.lab.folder / "waivers.yaml").read_text(encoding="utf-8"))
    for waiver in waivers["waivers"]:
        if waiver["subject"] == QOE:
            waiver["expires"] = "2026-01-01"
    (tmp_path / "expired.yaml").write_text(yaml.safe_dump(waivers), encoding="utf-8")
    third = audit(3, "--waivers", tmp_path / "expired.yaml", "--format", "html,json")
    diff = history("diff")
    assert _changes(diff) == AFTER_WAIVER_EXPIRED
    assert {(c[1], c[2]) for c in AFTER_WAIVER_EXPIRED} == _oracle(second, third)
    still = {c["rule_id"]: c for c in diff["changes"] if c["category"] == "still_open"}
    assert still["BR-061"]["open_since_run"] == diff["before"]["run_id"]  # opened in audit 2

    html = (tmp_path / "a3" / "report.html").read_text(encoding="utf-8")
    section = html[html.index('id="since-last-audit"'):]
    section = section[:section.index("</section>")]
    assert "Regressed</td><td>BR-002</td>" in section
    assert "waived → fail" in section
    assert "Resolved</td>" not in section  # audit 2's changes are not repeated
    assert 'id="chart-trend"' in html  # two earlier full audits feed the trend chart

    # Partial: the job runs well again (BR-061 would pass), but only BR-001 is audited.
    _job_outcome(estate, 1)
    audit(4, "--rule", "BR-001", code=0)
    runs = history("list")["audits"]
    assert [r["complete"] for r in runs] == [False, True, True, True]
    partial = history("diff", runs[1]["run_id"][:8], runs[0]["run_id"][:8])
    assert _changes(partial) == set()  # BR-001 did not change; nothing else was looked at
    assert "BR-061" in {c["rule_id"] for c in partial["changes"]
                        if c["category"] == "still_open"}
    still_open = {(f["rule_id"], f["subject_id"]) for f in history("open")["findings"]}
    assert ("BR-061", "instance:SQLCHI01\\RTC") in still_open
    assert ("BR-002", QOE) in still_open
    assert history("diff")["after"]["run_id"] == runs[1]["run_id"]  # the last two full audits
