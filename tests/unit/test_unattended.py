"""Unattended runs: gates, the Prometheus textfile, schedule units and the dated folders, through
the real command and the real tools (systemd-analyze, promtool)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from auditor.findings import Severity
from auditor.gates import Gates, tripped
from auditor.results import Results, read_results

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "auditor" / "data" / "fixtures" / "demo"


def run_cli(*args: str, cwd: Path = ROOT,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "auditor", *args], cwd=cwd,
                          env={**os.environ, "NO_COLOR": "1", **(env or {})},
                          capture_output=True, text=True, timeout=300, check=False)


def evaluate(estate: str, out: Path, *gates: str) -> subprocess.CompletedProcess[str]:
    return run_cli("-q", "evaluate", str(DEMO / estate / "evidence.json"), "--inventory",
                   str(DEMO / estate / "inventory.yaml"), "--out", str(out), *gates)


@pytest.fixture(scope="module")
def gated(tmp_path_factory: pytest.TempPathFactory
          ) -> dict[str, tuple[subprocess.CompletedProcess[str], Results]]:
    """Each demo estate evaluated once, through the CLI, with a --fail-on gate."""
    runs = {}
    for estate, level in (("healthy", "low"), ("drifted", "high"), ("neglected", "critical")):
        out = tmp_path_factory.mktemp(estate) / "results.json"
        runs[estate] = (evaluate(estate, out, "--fail-on", level), read_results(out))
    return runs


def test_gate_exit_codes_on_the_demo_estates(
        gated: dict[str, tuple[subprocess.CompletedProcess[str], Results]]) -> None:
    assert gated["healthy"][0].returncode == 0, gated["healthy"][0].stderr
    assert gated["drifted"][0].returncode == 1
    assert gated["neglected"][0].returncode == 1
    # drifted: 3 critical and 10 high fails (hand-counted, docs/unattended.md)
    assert "gate: 13 finding(s): fail or error, at or above high" in gated["drifted"][0].stderr


def test_fail_on_replaces_the_default_rule(
        gated: dict[str, tuple[subprocess.CompletedProcess[str], Results]]) -> None:
    drifted = gated["drifted"][1]
    low_only = drifted.model_copy(update={"findings": [
        f for f in drifted.findings if f.severity is Severity.LOW]})
    assert low_only.findings
    assert tripped(low_only, Gates(), None)  # default: any fail exits 1
    assert tripped(low_only, Gates(fail_on=Severity.HIGH), None) == []
    assert tripped(low_only, Gates(fail_on=Severity.LOW), None)
    assert tripped(gated["healthy"][1], Gates(fail_under=100.0), None) == []
    assert tripped(drifted, Gates(fail_under=99.0), None)  # --fail-under adds to the default


def test_fail_on_new_counts_only_what_was_not_failing_before(
        gated: dict[str, tuple[subprocess.CompletedProcess[str], Results]]) -> None:
    drifted = gated["drifted"][1]
    keys = {f"{drifted.estate_id or ''}|{f.rule_id}|{f.subject.id}" for f in drifted.findings}
    assert tripped(drifted, Gates(fail_on_new=True), keys) == []
    assert tripped(drifted, Gates(fail_on_new=True), set()) != []
    assert tripped(drifted, Gates(fail_on_new=True), None) != []  # no earlier audit: all new


def test_errors_count_as_failing(
        gated: dict[str, tuple[subprocess.CompletedProcess[str], Results]]) -> None:
    results = gated["neglected"][1]
    errors_only = results.model_copy(update={"findings": [
        f for f in results.findings if f.status.value == "error"]})
    assert errors_only.findings
    assert tripped(errors_only, Gates(fail_on=Severity.CRITICAL), None)


# --- the dated folders and --fail-on-new over two audits --------------------------------------

def audit_dated(estate: str, root: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli("-q", "audit", "--inventory", str(DEMO / estate / "inventory.yaml"),
                   "--replay", str(DEMO / estate / "evidence.json"), "--format", "json",
                   "--out", str(root), "--dated", *extra)


def test_two_audits_fail_on_new_and_the_latest_link(tmp_path: Path) -> None:
    root = tmp_path / "audits"
    first = audit_dated("drifted", root, "--fail-on-new")
    assert first.returncode == 1, first.stderr  # nothing to compare with: all new
    time.sleep(1.1)  # dated folders are named to the second
    second = audit_dated("drifted", root, "--fail-on-new")
    assert second.returncode == 0, second.stderr  # the same findings: none new
    folders = sorted(p.name for p in root.iterdir()
                     if p.name != "latest" and not p.name.startswith("."))
    assert len(folders) == 2
    assert os.readlink(root / "latest") == folders[-1]
    assert (root / "latest" / "results.json").is_file()


# --- metrics ----------------------------------------------------------------------------------

PROMTOOL = shutil.which("promtool")


def promtool_check(path: Path) -> None:
    if PROMTOOL is None:
        pytest.fail("promtool is missing: apt-get install prometheus (scripts/bootstrap.sh does)")
    done = subprocess.run([PROMTOOL, "check", "metrics"], input=path.read_bytes(),
                          capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode()


def sample(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        metric, _, value = line.rpartition(" ")
        if metric.startswith(name + "{") and _labels(metric) == wanted:
            return float(value)
    raise AssertionError(f"no sample {name}{{{wanted}}}")


def _labels(metric: str) -> str:
    pairs = re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', metric)
    return ",".join(f'{k}="{v}"' for k, v in sorted(pairs))


def test_metrics_file_holds_the_demo_results(tmp_path: Path) -> None:
    prom = tmp_path / "auditor.prom"
    done = audit_dated("drifted", tmp_path / "audits", "--metrics", str(prom))
    assert done.returncode == 1, done.stderr
    promtool_check(prom)
    text = prom.read_text(encoding="utf-8")
    results = json.loads((tmp_path / "audits" / "latest" / "results.json").read_text())
    estate = results["estate_id"]
    assert sample(text, "auditor_score_percent", estate=estate) == results["overall"]["score"]
    assert sample(text, "auditor_coverage_percent", estate=estate) == \
        results["overall"]["coverage"]
    assert sample(text, "auditor_findings", estate=estate, status="fail",
                  severity="critical") == 3
    assert "auditor_backup_last_full_finish_timestamp_seconds{" in text
    assert "_age" not in text  # times, never ages


KILL_WRITER = """
import sys, time
from pathlib import Path
from prometheus_client import CollectorRegistry, Gauge, write_to_textfile
registry = CollectorRegistry()
gauge = Gauge("auditor_test_series", "a large file", ["n"], registry=registry)
for n in range(20000):
    gauge.labels(str(n)).set(n)
print("ready", flush=True)
while True:
    write_to_textfile(sys.argv[1], registry)
"""


def test_a_kill_during_the_metrics_write_never_leaves_half_a_file(tmp_path: Path) -> None:
    prom = tmp_path / "m.prom"
    for attempt in range(5):
        writer = subprocess.Popen([sys.executable, "-c", KILL_WRITER, str(prom)],
                                  stdout=subprocess.PIPE, text=True)
        assert writer.stdout is not None
        assert writer.stdout.readline() == "ready\n"
        time.sleep(0.05 + 0.07 * attempt)
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
        if prom.exists():
            lines = prom.read_text(encoding="utf-8").splitlines()
            assert len([line for line in lines if not line.startswith("#")]) == 20000


# --- schedule ---------------------------------------------------------------------------------

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


def test_schedule_install_writes_units_systemd_accepts(tmp_path: Path) -> None:
    units = tmp_path / "units"
    done = run_cli("schedule", "install", "--inventory", str(DEMO / "drifted" / "inventory.yaml"),
                   "--every", "weekly", "--at", "04:30", "--unit-dir", str(units),
                   "--out-root", str(tmp_path / "audits"), "--metrics",
                   str(tmp_path / "m.prom"), "--", "--fail-on", "high")
    assert done.returncode == 0, done.stderr
    service = units / "auditor-audit-fabrikam-lync.service"
    timer = units / "auditor-audit-fabrikam-lync.timer"
    text = service.read_text(encoding="utf-8")
    assert "OnCalendar=Mon *-*-* 04:30:00" in timer.read_text(encoding="utf-8")
    assert "Persistent=true" in timer.read_text(encoding="utf-8")
    for line in ("User=auditor", "NoNewPrivileges=yes", "ProtectSystem=strict",
                 "PrivateTmp=yes", '"--fail-on" "high"', '"--dated"',
                 'Environment="AUDITOR_HISTORY=%S/auditor/history.sqlite"'):
        assert line in text
    if SYSTEMD_ANALYZE is None:
        pytest.fail("systemd-analyze is missing: apt-get install systemd (bootstrap does)")
    verify = subprocess.run([SYSTEMD_ANALYZE, "verify", str(service), str(timer)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert verify.returncode == 0, verify.stderr
    shown = run_cli("schedule", "show", "--estate", "fabrikam-lync", "--unit-dir", str(units))
    assert "OnCalendar=" in shown.stdout
    removed = run_cli("schedule", "remove", "--estate", "fabrikam-lync", "--unit-dir",
                      str(units))
    assert removed.returncode == 0, removed.stderr
    assert not service.exists()
    assert not timer.exists()


CRON_FIELD = re.compile(r"^(\*|\d{1,2})$")


def test_the_cron_line_parses(tmp_path: Path) -> None:
    done = run_cli("schedule", "install", "--inventory", str(DEMO / "drifted" / "inventory.yaml"),
                   "--at", "23:05", "--cron", "--out-root", str(tmp_path / "audits"))
    assert done.returncode == 0, done.stderr
    fields = done.stdout.strip().split(" ", 5)
    minute, hour, day, month, weekday, command = fields
    assert (minute, hour, day, month, weekday) == ("5", "23", "*", "*", "*")
    argv = shlex.split(command)
    assert argv[-7:] == ["audit", "--inventory", str(DEMO / "drifted" / "inventory.yaml"),
                         "--out", str(tmp_path / "audits"), "--dated", "--quiet"]
    assert Path(argv[0]).is_absolute()


PERSON_INVENTORY = """\
version: 1
estate: {id: needs-a-person, name: Needs a person}
sites:
  - {id: EMEA}
pools:
  - {fqdn: pool01.contoso.com, site: EMEA, business_critical: true}
sql_instances:
  - server_name: SQL01\\RTC
    host: sql01.contoso.com
    role: back_end
    pool: pool01.contoso.com
    stores: [xds, lis, rtcxds]
    credential: {kind: prompt, username: audit}
"""


def test_schedule_refuses_credentials_that_need_a_person(tmp_path: Path) -> None:
    bad = tmp_path / "inventory.yaml"
    bad.write_text(PERSON_INVENTORY, encoding="utf-8")
    done = run_cli("schedule", "install", "--inventory", str(bad), "--cron")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert f"{bad}:13: sql_instances[0].credential: a prompt credential needs a person" in \
        done.stderr, done.stderr
