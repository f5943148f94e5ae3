"""Connection-string secrets against the lab, through the real CLI: every documented keyword
that can hold a secret is refused (exit 2, one line naming the keyword), and with `--debug` no
canary value reaches any output; a live audit whose connection strings carry canaries in
keywords that are not on the allow-list, whose passwords are canaries, and whose server echoes
secret-bearing keywords in its errors leaks none of them into stdout, stderr (the `--debug`
log), evidence.json, results.json, the HTML, the PDF's text, Markdown, CSV or JUnit XML."""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from auditor.cli import app as cli_app
from auditor.cli.common import _State
from auditor.lab.cluster import LabCluster
from tests.integration.labkit import edit_inventory, healthy_copy
from tests.pdftext import page_texts
from tests.unit.test_connection_secrets import CANARY, SECRET_CASES

pytestmark = pytest.mark.pg

REAL = "SQLBNE01\\RTC"
WRONG = "SQLCHI01\\RTC"
FORMATS = "html,pdf,json,csv,junit,md"


@pytest.fixture
def auditor_logger() -> Iterator[None]:
    """`--debug` in process adds a handler to the `auditor` logger and leaves the CLI in debug
    mode (for sub-apps invoked without the root callback): undo both after."""
    logger = logging.getLogger("auditor")
    handlers, level, debug = list(logger.handlers), logger.level, _State.debug
    yield
    for handler in logger.handlers[:]:
        if handler not in handlers:
            logger.removeHandler(handler)
    logger.setLevel(level)
    _State.debug = debug


def _inventory(tmp_path: Path, connection: str) -> Path:
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump({
        "version": 1, "estate": {"name": "canary"},
        "sql_instances": [{"server_name": REAL, "host": "sqlbne01.example.com",
                           "role": "back_end", "connection": connection,
                           "credential": {"kind": "env", "name": "AUDITOR_CANARY_PW"}}]},
        sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(("connection", "keyword"), [c[1:] for c in SECRET_CASES],
                         ids=[c[0] for c in SECRET_CASES])
def test_secret_keywords_are_refused_and_never_shown(
        tmp_path: Path, connection: str, keyword: str, auditor_logger: None,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    inventory = _inventory(tmp_path, connection)
    runner = CliRunner()
    validate = runner.invoke(cli_app, ["inventory", "validate", str(inventory)])
    assert validate.exit_code == 2
    assert validate.stderr.count("\n") == 1, validate.stderr
    line = next(i for i, text in enumerate(inventory.read_text().splitlines(), 1)
                if "connection:" in text)
    assert validate.stderr.startswith(
        f"error: {inventory}:{line}: sql_instances[0].connection: Value error, ")
    assert f"keyword {keyword} " in validate.stderr
    debug = runner.invoke(cli_app, ["--debug", "audit", "--inventory", str(inventory),
                                    "--out", str(tmp_path / "out"), "--format", FORMATS])
    assert debug.exception is not None  # --debug shows the traceback instead of exit 2
    shown = "".join(traceback.format_exception(debug.exception))
    assert f"keyword {keyword} " in shown
    assert not (tmp_path / "out").exists()
    for text in (validate.stdout, validate.stderr, debug.stdout, debug.stderr, shown,
                 caplog.text):
        assert CANARY not in text


LEAK_FUNCTION = """
CREATE FUNCTION dbo.leak() RETURNS bigint LANGUAGE plpgsql AS $f$
BEGIN
  RAISE EXCEPTION 'driver echo: DRIVER={{x}};KeystoreSecret={echo1};{{PWD}} = {{{echo2};z}};
ClientKey=file:k.pem,password:{echo3};AccessToken={echo4};Password= {echo5} ;';
END $f$
"""


def _echoing_server(lab: LabCluster, database: str, login: str, canaries: list[str]) -> None:
    """dbo.backupset behind a view whose every read fails with an error that echoes
    secret-bearing keywords: the driver hands their values back in its message."""
    lab.execute("ALTER TABLE dbo.backupset RENAME TO backupset_data", database)
    lab.execute(LEAK_FUNCTION.format(**{f"echo{i + 1}": c for i, c in enumerate(canaries)}),
                database)
    lab.execute("CREATE VIEW dbo.backupset AS SELECT * FROM dbo.backupset_data "
                "WHERE dbo.leak() IS NULL", database)
    lab.grant(database, login, ["dbo.backupset"])
    lab.execute(f'GRANT EXECUTE ON FUNCTION dbo.leak() TO "{login}"', database)


def _outputs(out: Path) -> dict[str, str]:
    found = {p.name: p.read_text(encoding="utf-8-sig") for p in out.iterdir()
             if p.suffix in (".json", ".html", ".csv", ".xml", ".md")}
    text = "".join(page_texts(out / "report.pdf"))
    found["report.pdf (text)"] = re.sub(r"[\s\x00\u2060]+", "", text)
    found["report.pdf (bytes)"] = (out / "report.pdf").read_bytes().decode("latin-1")
    return found


def test_live_audit_with_debug_leaks_no_canary(lab: LabCluster, tmp_path: Path) -> None:
    estate = healthy_copy(lab, tmp_path / "lab", "conncanary")
    refs = {r.server_name: r for r in estate.instances}
    tag = secrets.token_hex(6)
    password = f"PwCanary-{tag}}};PWD=x"
    wrong = f"PwWrong-{tag}"
    masked = {key: f"{key}Canary-{tag}" for key in (
        "KeystorePrincipalId", "ClientCertificate", "ClientKey", "AttachDBFileName",
        "RetryExec", "FooBar")}
    extra = (f"KeystorePrincipalId={masked['KeystorePrincipalId']};ClientCertificate=file:"
             f"{masked['ClientCertificate']}.pem;ClientKey=file:{masked['ClientKey']}.pem;"
             f"AttachDBFileName={masked['AttachDBFileName']};RetryExec={{"
             f"{masked['RetryExec']}}};FooBar={masked['FooBar']};")
    echoes = [f"Echo{i}Canary-{tag}" for i in range(1, 6)]
    _echoing_server(lab, refs[REAL].database, refs[REAL].login.name, echoes)
    lab.set_password(refs[REAL].login.name, password)
    inventory = edit_inventory(estate.inventory, tmp_path / "inventory.yaml", {
        REAL: {"connection": refs[REAL].connection + extra}})
    env = {**os.environ, **estate.env, refs[REAL].env_var: password,
           refs[WRONG].env_var: wrong, "COLUMNS": "200", "NO_COLOR": "1"}
    out = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, "-m", "auditor", "--debug", "audit", "--inventory", str(inventory),
         "--replay", str(estate.replay), "--out", str(out), "--format", FORMATS,
         "--appendix", "summary"],  # the errors are all in it; the PDF takes a third of the time
        env=env, capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode in (0, 1), run.stderr[-3000:]

    texts = {"stdout": run.stdout, "stderr (--debug log)": run.stderr, **_outputs(out)}
    assert run.stderr.count(": connecting (") >= 6  # the --debug log was written
    assert "KeystorePrincipalId=***;ClientCertificate=***;ClientKey=***" in run.stderr
    evidence = texts["evidence.json"]
    observed = {(o["target"], o["probe"]): o for o in json.loads(evidence)["observations"]
                if o["source"] == "sql"}
    real = [o for (target, _), o in observed.items() if target == REAL]
    assert [o["probe"] for o in real if o["status"] == "ok"]  # it logged in with the canary
    echoed = [o["error"] for o in real if "driver echo" in (o["error"] or "")]
    assert echoed  # the server's echo reached the evidence, masked
    assert all("KeystoreSecret=***" in e and "AccessToken=***" in e for e in echoed), echoed
    for where in ("report.html", "report.pdf (text)", "results.json", "findings.csv"):
        assert "KeystoreSecret=***" in texts[where], where  # the reports show the echo masked
    assert "KeystoreSecret=\\*\\*\\*" in texts["summary.md"]
    assert {o["status"] for (target, _), o in observed.items() if target == WRONG} >= \
        {"denied"}  # the wrong password was tried
    canaries = [password, password.split("}")[0], wrong, *masked.values(), *echoes]
    leaks = {(c, where) for c in canaries for where, text in texts.items() if c in text}
    assert leaks == set()
