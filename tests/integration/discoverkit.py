"""Helpers for the `auditor discover` tests: run it against the loopback endpoint (and the
PostgreSQL lab with --sql), and complete its TODOs from an estate's hand-written inventory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner, Result

from auditor.cli import app
from auditor.lab.cluster import DRIVER, LabCluster
from auditor.yamlio import load_yaml
from tests.integration.lync_fixtures import CANARY_PASSWORD, CANARY_USER, DEMO, RunningLab

PASSWORD_ENV = "AUDITOR_TEST_DISCOVER_PASSWORD"  # noqa: S105 - a variable name


def discover(running: RunningLab, out: Path, *extra: str,
             env: dict[str, str] | None = None) -> Result:
    """`auditor discover` in-process, every server sent to the endpoint."""
    args = ["discover", "--lync-server", "fe01.lab.invalid", "--out", str(out),
            "--credential", f"env:{PASSWORD_ENV}", "--username", CANARY_USER,
            "--auth", "basic", "--ca-bundle", str(running.endpoint.ca_cert), *extra]
    environment = {PASSWORD_ENV: CANARY_PASSWORD,
                   "AUDITOR_LYNC_CONNECT": f"*=127.0.0.1:{running.endpoint.port}",
                   **(env or {})}
    return CliRunner().invoke(app, args, env=environment)


def sql_options(cluster: LabCluster, estate: str) -> list[str]:
    """--sql with templates that reach `build_estate`'s databases and logins."""
    connection = (f"DRIVER={{{DRIVER}}};SERVER=127.0.0.1;PORT={cluster.port};"
                  f"DATABASE={estate}_{{slug}};")
    return ["--sql", "--sql-connection", connection,
            "--sql-credential", f"env:AUDITOR_LAB_{estate.upper()}_{{SLUG}}_PASSWORD",
            "--sql-username", f"audit_{estate}_{{slug}}"]


def completed(discovered: Path, estate: str, out: Path) -> Path:
    """The discovered inventory with only what it marks TODO taken from the hand-written
    one: estate, destinations, export share, policy, waivers, records, business-critical
    pools, server models and the restore-test instance."""
    data, _ = load_yaml(discovered)
    hand, _ = load_yaml(DEMO / estate / "inventory.yaml")
    for key in ("estate", "backup_destinations", "export_share", "policy"):
        if key in hand:
            data[key] = hand[key]
    for key in ("waivers", "records"):
        if key in hand:
            data[key] = str((DEMO / estate / hand[key]).resolve())
    _copy_field(data["pools"], hand["pools"], "fqdn", "business_critical")
    _copy_field(data["servers"], hand["servers"], "fqdn", "model")
    data["sql_instances"] += [i for i in hand["sql_instances"] if i["role"] == "restore_test"]
    out.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return out


def _copy_field(found: list[dict[str, Any]], hand: list[dict[str, Any]], key: str,
                field: str) -> None:
    by_key = {h[key].lower(): h for h in hand}
    for entry in found:
        source = by_key.get(entry[key].lower(), {})
        if field in source:
            entry[field] = source[field]
