"""Helpers for the remediation tests: a private copy of the neglected estate in the lab (so
no other test sees its tables change), an inventory copy with what remediation needs, and the
audit -> plan -> apply commands."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner, Result

from auditor.cli import app
from auditor.evidence import Observation, write_bundle
from auditor.killhook import KILL_AT
from auditor.lab.cluster import LabCluster
from auditor.lab.demo import LabEstate, LabInstanceRef, build_estate, demo_root, slug
from auditor.lab.instance import LabLogin, create_instance
from auditor.lab.tables import InstanceData
from auditor.remediate.journal import read_journal
from auditor.results import Results, write_results
from tests.integration.labkit import collect_live, toolkit

# A real site would have these; the neglected estate does not (README: no backup destination
# in Brisbane). Added to a copy of the inventory, never to fixtures/demo.
BNE_DESTINATION = {"path": "\\\\bnebak01.litwareinc.com\\sql", "host": "bnebak01.litwareinc.com",
                   "site": "BNE"}


# Nor has it a restore-test instance: one in Chicago, made from SQLCHI02's clock, system
# databases and volumes (its model database's files give the restore's target folders).
RESTORE_TEST = {"server_name": "SQLCHI03\\RESTORE", "host": "sqlchi03.litwareinc.com",
                "role": "restore_test", "site": "CHI"}
RESTORE_TEST_FROM = "SQLCHI02\\RTC"
SYSTEM = ("master", "model", "msdb", "tempdb")
KEPT_PROBES = ("server_time", "databases", "database_files")


@dataclass(frozen=True)
class Estate:
    """A lab estate of our own, with the remediation inventory."""

    lab: LabEstate
    inventory: Path
    folder: Path
    cluster: LabCluster

    def database(self, server_name: str) -> str:
        """The lab database standing in for an instance."""
        return next(r.database for r in self.lab.instances if r.server_name == server_name)

    def sql(self, server_name: str, text: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """Run SQL as the lab superuser on an instance's database."""
        return self.cluster.execute(text, self.database(server_name), params)


def make_estate(cluster: LabCluster, folder: Path, name: str,
                edits: dict[str, Any] | None = None, source: str = "neglected") -> Estate:
    """A demo estate under a name of its own, and its remediation inventory."""
    # Moved to the present as `lab sql up` loads it: a live audit is judged at its collection
    # time, and the lab's stopped clocks stand at the moment the estate was loaded.
    lab = build_estate(cluster, demo_root() / source, folder, name,
                       present=dt.datetime.now(dt.UTC))
    data = yaml.safe_load(lab.inventory.read_text(encoding="utf-8"))
    data["backup_destinations"].append(dict(BNE_DESTINATION))
    if source == "neglected":
        ref = _restore_test_instance(cluster, lab, name)
        data["sql_instances"].append({
            **RESTORE_TEST, "connection": ref.connection, "encrypt": True,
            "credential": {"kind": "env", "name": ref.env_var, "username": ref.login.name}})
        lab = replace(lab, instances=(*lab.instances, ref),
                      env={**lab.env, ref.env_var: ref.login.password})
    for key, value in (edits or {}).items():
        data[key] = value
    inventory = folder / f"{name}-remediation.yaml"
    inventory.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return Estate(lab, inventory, folder / name, cluster)


def _restore_test_instance(cluster: LabCluster, lab: LabEstate, name: str) -> LabInstanceRef:
    """A restore-test instance in the lab: system databases only, no history."""
    server = RESTORE_TEST["server_name"]
    recorded = {o.probe: o for o in lab.served.observations
                if o.target == RESTORE_TEST_FROM and o.probe in KEPT_PROBES}
    system = {int(str(r["database_id"])) for r in recorded["databases"].data
              if str(r["name"]) in SYSTEM}
    observations: dict[str, Observation] = {}
    for probe, obs in recorded.items():
        rows = [r for r in obs.data if probe == "server_time"
                or int(str(r["database_id"])) in system]
        if probe == "server_time":
            rows = [{**r, "server_name": server, "machine_name": "SQLCHI03"} for r in rows]
        observations[probe] = obs.model_copy(update={"target": server, "data": rows})
    key = slug(f"{name} {server}")
    login = LabLogin(f"audit_{key}", secrets.token_urlsafe(18))
    create_instance(cluster, key, InstanceData(server, observations), login)
    return LabInstanceRef(server_name=server, database=key, login=login,
                          env_var=f"AUDITOR_LAB_{key.upper()}_PASSWORD",
                          connection=cluster.odbc(key, login.name))


def use_env(estate: Estate, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lab logins' passwords in the environment, as the inventory's credentials say."""
    for key, value in estate.lab.env.items():
        monkeypatch.setenv(key, value)


def audit(estate: Estate, out: Path, now: dt.datetime | None = None
          ) -> tuple[Results, Path, Path]:
    """Collect live (over the replay of what the lab cannot serve) and evaluate, at the
    recording's time (where the lab's clocks stand) unless `now` is given."""
    bundle = collect_live(estate.inventory, estate.lab.replay)
    bundle_path, results_path = out / "evidence.json", out / "results.json"
    digest = write_bundle(bundle, bundle_path)
    kit = toolkit()
    loaded = kit.load_inventory(estate.inventory)
    results = kit.evaluate(bundle, digest, loaded, kit.load_waivers(loaded, None), now)
    write_results(results, results_path)
    return results, bundle_path, results_path


def cli(*args: str | Path) -> Result:
    """The auditor command line, in-process, without a terminal."""
    return CliRunner().invoke(app, [str(a) for a in args])


def plan(estate: Estate, results: Path, bundle: Path, out: Path, *extra: str) -> Result:
    """`auditor remediate plan`."""
    return cli("remediate", "plan", results, "--bundle", bundle, "--inventory",
               estate.inventory, "--out", out, *extra)


def apply(estate: Estate, plan_path: Path, bundle: Path, out: Path, *extra: str) -> Result:
    """`auditor remediate apply`."""
    return cli("remediate", "apply", plan_path, "--bundle", bundle, "--inventory",
               estate.inventory, "--out", out, *extra)


def snapshot(estate: Estate) -> dict[str, tuple[int, str]]:
    """Every lab table (dbo, sys, lab) of every instance: its row count and the md5 of its rows
    in order, for before/after (summed up on the server: one query per instance)."""
    out: dict[str, tuple[int, str]] = {}
    for ref in estate.lab.instances:
        tables = estate.cluster.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE "
            "table_schema IN ('dbo', 'sys', 'lab') AND table_type = 'BASE TABLE' "
            "ORDER BY 1, 2", ref.database)
        query = " UNION ALL ".join(
            f"SELECT '{schema}.{table}', count(*), md5(COALESCE(string_agg(t::text, "  # noqa: S608
            f"E'\\n' ORDER BY t::text), '')) FROM \"{schema}\".\"{table}\" t"
            for schema, table in tables)
        for name, count, digest in estate.cluster.execute(query, ref.database):
            out[f"{ref.database}.{name}"] = (int(count), str(digest))
    return out


def add_fault(estate: Estate, server_name: str, action: str, mode: str,
              target: str | None = None, message: str | None = None) -> None:
    """Tell a lab instance's stand-in to fail, hang or deny."""
    estate.sql(server_name, "INSERT INTO lab.fault (action, target, mode, message) "
               "VALUES (?, ?, ?, ?)", (action, target, mode, message))


def prepared(estate: Estate, folder: Path, *plan_args: str) -> tuple[Path, Path]:
    """Audit and plan: (plan.json, evidence.json)."""
    folder.mkdir(parents=True, exist_ok=True)
    _, bundle, results = audit(estate, folder)
    made = plan(estate, results, bundle, folder / "plan.json", *plan_args)
    assert made.exit_code == 0, made.output
    return folder / "plan.json", bundle


def apply_killed(inventory: Path, plan_path: Path, bundle: Path, out: Path, point: str,
                 *extra: str) -> list[dict[str, Any]]:
    """`remediate apply --apply --yes` in a process of its own that SIGKILLs itself at the fixed
    point `point` (auditor/killhook.py); its journal. Asserts it was killed there and left no
    remediation.json."""
    done = subprocess.run(
        [sys.executable, "-m", "auditor", "remediate", "apply", str(plan_path), "--bundle",
         str(bundle), "--inventory", str(inventory), "--out", str(out), "--apply", "--yes",
         *extra], env={**os.environ, KILL_AT: point}, capture_output=True, text=True,
        timeout=300, check=False)
    assert done.returncode == -signal.SIGKILL, (point, done.returncode, done.stderr)
    time.sleep(0.3)  # a statement another queue had sent when the process died ends
    assert not (out / "remediation.json").exists(), point
    lines = read_journal(out / "journal.jsonl")
    assert [line["event"] for line in lines][:1] == ["run"], point
    assert "done" not in {line["event"] for line in lines}, point
    return lines


Key = tuple[str, str, str]  # (action kind, instance, database) as the journal names it


def started(lines: list[dict[str, Any]]) -> set[Key]:
    """The actions a journal says were started."""
    return {(str(line["kind"]), str(line["instance"]), str(line["database"]))
            for line in lines if line["event"] == "start"}


def check_kill_point(lines: list[dict[str, Any]], effects: set[Key], kind: str,
                     point: str) -> None:
    """What a kill at `remediate-<point>-<kind>` must leave: every effect on the servers has
    its start line; the newest action of that kind has its start line, its effect only once it
    ran (`ran`, `end`), its end line only at `end`."""
    assert effects <= started(lines), (kind, point, effects, started(lines))
    victim = [line for line in lines if line["event"] == "start" and line["kind"] == kind][-1]
    key = (kind, str(victim["instance"]), str(victim["database"]))
    assert (key in effects) == (point != "start"), (kind, point, effects)
    ends = [line for line in lines if line["event"] == "end" and line["action"] == victim["action"]]
    assert [e["outcome"] for e in ends] == (["succeeded"] if point == "end" else []), (kind, point)


def marks(estate: Estate, instances: set[str]) -> dict[str, tuple[int, int, int]]:
    """Per instance: the newest backup_set_id, sp_start_job request id and restore_history_id
    so far."""
    def newest(inst: str, column: str, table: str) -> int:
        return int(estate.sql(inst, f"SELECT COALESCE(max({column}), 0) FROM {table}")[0][0])  # noqa: S608

    return {inst: (newest(inst, "backup_set_id", "dbo.backupset"),
                   newest(inst, "request_id", "lab.agent_request"),
                   newest(inst, "restore_history_id", "dbo.restorehistory"))
            for inst in instances}


def effects(estate: Estate, planned: list[dict[str, str]],
            before: dict[str, tuple[int, int, int]]) -> set[Key]:
    """The planned SQL actions whose work reached a server since `before`: a job request, a new
    log backup, a new full (a full the admin's job took belongs to the job's action), a new
    restorehistory row on the restore-test instance."""
    found: set[Key] = set()
    for a in planned:
        inst = a["instance"]
        backups, requests, restores = before[inst]
        if a["action"] == "start_backup_job":
            rows = estate.sql(inst, "SELECT count(*) FROM lab.agent_request WHERE request_id > ? "
                              "AND job_name = ?", (requests, a["job_name"]))
        elif a["action"] == "restore_test":
            rows = estate.sql(inst, "SELECT count(*) FROM dbo.restorehistory WHERE "
                              "restore_history_id > ?", (restores,))
        else:
            rows = estate.sql(inst, "SELECT count(*) FROM dbo.backupset WHERE backup_set_id > ? "
                              "AND database_name = ? AND type = ?",
                              (backups, a["database"], "L" if a["action"] == "backup_log" else "D"))
        if rows[0][0]:
            found.add((a["action"], inst, a["database"]))
    return found
