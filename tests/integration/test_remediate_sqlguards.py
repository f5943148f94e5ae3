"""SQL remediation guards on one drifted estate, audited once: an Agent job already running is
waited for and judged, never started twice; a full that would reset a differential base needs
--allow-diff-base-reset; a hostile database name reaches the server only as a bound value
(PostgreSQL's own statement log shows it)."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from auditor.inventory import load_inventory
from auditor.lab.cluster import LabCluster, quote_ident
from auditor.remediate.targets import backup_file
from tests.integration.remedkit import Estate, apply, audit, make_estate, plan

pytestmark = pytest.mark.pg

BNE, CHI2 = "SQLBNE01\\RTC", "SQLCHI02\\RTC"
JOB = "DatabaseBackup - USER_DATABASES - FULL"
HOSTILE = "Lync']; DROP TABLE dbo.backupset;--\"$(touch /tmp/x)`id`"
DIFF = "\\\\chibak01.litwareinc.com\\sql\\SQLCHI02$RTC\\model\\DIFF\\model_DIFF.bak"


@dataclass(frozen=True)
class Audited:
    """The estate and its one audit."""

    estate: Estate
    results: Path
    bundle: Path
    folder: Path

    def plan(self, name: str, *args: str) -> Path:
        """A plan of this audit."""
        path = self.folder / f"{name}.json"
        made = plan(self.estate, self.results, self.bundle, path, *args)
        assert made.exit_code == 0, made.output
        return path

    def apply(self, plan_path: Path, out: str, *args: str) -> tuple[int, dict[str, Any]]:
        """`apply --apply --yes --outside-window`: (exit code, remediation.json)."""
        ran = apply(self.estate, plan_path, self.bundle, self.folder / out, "--apply", "--yes",
                    "--outside-window", *args)
        record: dict[str, Any] = json.loads((self.folder / out / "remediation.json").read_text())
        return ran.exit_code, record


@pytest.fixture(scope="module")
def audited(lab: LabCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Audited]:
    folder = tmp_path_factory.mktemp("sqlguards")
    estate = make_estate(lab, folder, "remguard", source="drifted")
    with pytest.MonkeyPatch.context() as patch:
        for key, value in estate.lab.env.items():
            patch.setenv(key, value)
        # the admin's own differential of SQLCHI02's model, newer than its last full
        estate.sql(CHI2, "SELECT lab.record_backup('model', 'I', ?, true, false)", (DIFF,))
        _, bundle, results = audit(estate, folder)
        yield Audited(estate, results, bundle, folder)


def _until_polling(estate: Estate, login: str, mark: int, seconds: float = 60.0) -> None:
    """Until the server log shows apply's session polling the job's outcome: it has decided
    to wait for the running job, not to start it."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        lines = estate.cluster.server_log()[mark:].splitlines()
        if any(f" {login}@" in line and "h.instance_id > $2" in line for line in lines):
            return
        time.sleep(0.1)
    raise AssertionError("apply never polled the job's outcome")


def test_a_running_job_is_waited_for_and_judged_not_started_twice(audited: Audited) -> None:
    estate = audited.estate
    plan_path = audited.plan("job", "--rule", "BR-001", "--subject",
                             f"database:{BNE}/rgsconfig")
    planned = json.loads(plan_path.read_text())["actions"]
    assert [(a["action"], a["job_name"]) for a in planned] == [("start_backup_job", JOB)]
    history = estate.sql(BNE, "SELECT max(instance_id) FROM dbo.sysjobhistory")[0][0]
    # the Agent started the job on its schedule; it finishes while apply waits
    estate.sql(BNE, "SELECT lab.begin_job(?)", (JOB,))
    login = next(r.login.name for r in estate.lab.instances if r.server_name == BNE)
    mark = len(estate.cluster.server_log())

    def finish_later() -> None:
        _until_polling(estate, login, mark)
        estate.sql(BNE, "SELECT lab.finish_job(?)", (JOB,))

    estate.cluster.execute(f"ALTER ROLE {quote_ident(login)} SET log_statement = 'all'")
    finisher = threading.Thread(target=finish_later, daemon=True)
    finisher.start()
    try:
        code, record = audited.apply(plan_path, "job-run", "--timeout", "90")
    finally:
        estate.cluster.execute(f"ALTER ROLE {quote_ident(login)} RESET log_statement")
    finisher.join(30)
    assert code == 0, record
    action = record["actions"][0]
    assert action["outcome"] == "succeeded", action
    assert any("was already running" in m for m in action["messages"])
    assert action["statements"] == []  # sp_start_job was never sent
    assert estate.sql(BNE, "SELECT count(*) FROM lab.agent_request")[0][0] == 0
    outcomes = estate.sql(BNE, "SELECT count(*) FROM dbo.sysjobhistory WHERE step_id = 0 "
                          "AND instance_id > ?", (history,))
    assert outcomes[0][0] == 1  # one run: the scheduled one
    assert [a["type"] for a in action["artifacts"]] == ["D"]
    verdicts = {(c["rule_id"], c["subject"]): c["verdict"]
                for c in record["verification"]["findings"]}
    assert verdicts[("BR-001", f"database:{BNE}/rgsconfig")] == "fixed"


def test_a_full_that_resets_a_differential_base_needs_the_flag(audited: Audited) -> None:
    estate = audited.estate
    plan_path = audited.plan("diff", "--rule", "BR-004", "--subject", f"database:{CHI2}/model")
    (planned,) = json.loads(plan_path.read_text())["actions"]
    assert (planned["action"], planned["resets_differential_base"]) == ("backup_database", True)
    assert any("1 differential backup(s) since its last full" in n and
               "--allow-diff-base-reset" in n for n in planned["notes"])
    dry = apply(estate, plan_path, audited.bundle, audited.folder / "diff-dry")
    assert "resets the differential base: needs --allow-diff-base-reset" in dry.output
    fulls = "SELECT count(*) FROM dbo.backupset WHERE database_name = 'model' AND type = 'D'"
    before = estate.sql(CHI2, fulls)[0][0]

    code, record = audited.apply(plan_path, "diff-refused")
    assert code == 1
    (action,) = record["actions"]
    assert action["outcome"] == "refused"
    assert "1 differential backup(s) since its last full" in action["reason"]
    assert "--allow-diff-base-reset" in action["reason"]
    assert estate.sql(CHI2, fulls)[0][0] == before  # nothing was backed up

    code, record = audited.apply(plan_path, "diff-allowed", "--allow-diff-base-reset")
    assert code == 0, record
    assert record["actions"][0]["outcome"] == "succeeded"
    assert record["options"]["allow_diff_base_reset"] == "True"
    assert estate.sql(CHI2, fulls)[0][0] == before + 1


def test_a_hostile_database_name_reaches_the_server_only_as_a_bound_value(
        audited: Audited) -> None:
    estate = audited.estate
    plan_path = audited.plan("hostile", "--rule", "BR-001", "--subject",
                             f"database:{BNE}/rgsconfig", "--method", "adhoc")
    estate.sql(BNE, "INSERT INTO sys.databases (name, database_id, state, state_desc, "
               "recovery_model, recovery_model_desc) VALUES (?, 900, 0, 'ONLINE', 1, 'FULL')",
               (HOSTILE,))
    # the reviewed plan, pointed at the hostile database (its file named as the planner names)
    data = json.loads(plan_path.read_text())
    (action,) = data["actions"]
    inst = next(i for i in load_inventory(estate.inventory).inventory.sql_instances
                if i.server_name == BNE)
    file = backup_file(action["destination"], inst, HOSTILE, "D")
    action["database"] = HOSTILE
    for stmt in action["statements"]:
        stmt["parameters"] = {k: HOSTILE if k == "database" else file
                              for k in stmt["parameters"]}
    plan_path.write_text(json.dumps(data))
    login = next(r.login.name for r in estate.lab.instances if r.server_name == BNE)
    database = estate.database(BNE)
    estate.cluster.execute(f"ALTER ROLE {quote_ident(login)} SET log_statement = 'all'")
    try:
        code, record = audited.apply(plan_path, "hostile-run")
    finally:
        estate.cluster.execute(f"ALTER ROLE {quote_ident(login)} RESET log_statement")
    assert record["actions"][0]["outcome"] == "succeeded", record["actions"][0]
    assert [a["type"] for a in record["actions"][0]["artifacts"]] == ["D"]

    mine = [e for e in _log_entries(estate.cluster.server_log())
            if f" {login}@{database} " in e.split("\n", 1)[0]]
    statements = [e for e in mine if "LOG:  execute" in e or "LOG:  statement:" in e]
    for sent in ("dbo.lab_backup($1, $2, 'D', ", "dbo.lab_restore_verifyonly($1)",
                 "LOWER(d.name) = LOWER($1)", "md5(lower($1))"):
        assert any(sent in e for e in statements), sent
    for part in (HOSTILE, "DROP TABLE", "$(touch", "`id`", "Lync']"):
        assert not [e for e in statements if part in e], part
    bound = "'" + HOSTILE.replace("'", "''") + "'"
    details = [e for e in mine if "DETAIL:  parameters:" in e]
    # the state, running-backup, differentials, BACKUP and msdb read-back statements
    assert sum(f"$1 = {bound}" in e for e in details) >= 5
    assert estate.sql(BNE, "SELECT count(*) FROM dbo.backupset WHERE database_name = ?",
                      (HOSTILE,))[0][0] == 1
    assert code in (0, 1)  # the verdicts of rgsconfig's finding do not matter here


def _log_entries(text: str) -> list[str]:
    """Server log entries: a multi-line statement is one entry (continuations are indented)."""
    entries: list[str] = []
    for line in text.splitlines():
        if re.match(r"\d{4}-\d\d-\d\d ", line) or not entries:
            entries.append(line)
        else:
            entries[-1] += "\n" + line
    return entries
