"""The collector and preflight through the real FreeTDS ODBC driver, up to where a server answers.

No SQL Server runs here: the far end is a closed port, a port that accepts and never speaks,
or tdsstub's PRELOGIN + TLS stand-in, which shows what the driver put on the wire (encryption
request, TDS version in LOGIN7) and whether it trusted the certificate. Needs Debian's tdsodbc
(`scripts/bootstrap.sh`).
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pyodbc
import pytest
import yaml

from auditor.collect.base import CollectContext
from auditor.collect.sql import SqlCollector, preflight_sql
from auditor.connect.sql import build_connection_string, get_key, parse_connection_string
from auditor.connect.sql_tls import FREETDS_HINT
from auditor.evidence import Observation, ObservationStatus
from auditor.inventory import load_inventory
from auditor.lab.winrm.tls import TlsFiles, make_tls_files
from tests.integration.labkit import closed_port, silent_server
from tests.integration.tdsstub import ENCRYPT_NOT_SUP, ENCRYPT_OFF, ENCRYPT_ON, TdsTlsStub

NAME = "SQLTEST01\\RTC"
PASSWORD_ENV = "AUDITOR_TEST_FREETDS_PASSWORD"  # noqa: S105 - a variable name
TDS_7_3, TDS_7_4 = 0x730B0003, 0x74000004  # LOGIN7's TDSVersion: 7.3 (2008 R2), 7.4 (2012+)


@pytest.fixture(autouse=True)
def _freetds(monkeypatch: pytest.MonkeyPatch) -> None:
    if "FreeTDS" not in pyodbc.drivers():
        pytest.fail("the FreeTDS ODBC driver is not registered: apt-get install tdsodbc "
                    "(scripts/bootstrap.sh does)")
    monkeypatch.setenv(PASSWORD_ENV, "not-a-real-secret")
    monkeypatch.delenv("FREETDSCONF", raising=False)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


def inventory(path: Path, connection: str, **fields: object) -> Path:
    inst = {"server_name": NAME, "host": "sqltest01.example.com", "role": "back_end",
            "connection": connection, "login_timeout_seconds": 3,
            "credential": {"kind": "env", "name": PASSWORD_ENV, "username": "svc-audit"},
            **fields}
    path.write_text(yaml.safe_dump({"estate": {"name": "freetds"}, "sql_instances": [inst]}),
                    encoding="utf-8")
    return path


def collect(path: Path) -> list[Observation]:
    loaded = load_inventory(path)
    return SqlCollector(interactive=False).collect(
        CollectContext(inventory=loaded, started_at=dt.datetime.now(dt.UTC)))


def freetds(port: int, extra: str = "TDS_Version=7.3;") -> str:
    return f"DRIVER={{FreeTDS}};SERVER=127.0.0.1;PORT={port};DATABASE=msdb;{extra}"


def test_the_built_string_asks_freetds_for_tls_and_the_driver_takes_it(tmp_path: Path) -> None:
    loaded = load_inventory(inventory(tmp_path / "inv.yaml", freetds(closed_port())))
    built = parse_connection_string(
        build_connection_string(loaded.inventory.sql_instances[0], None))
    assert get_key(built, "Encryption") == "require"
    assert get_key(built, "TDS_Version") == "7.3"
    with pytest.raises(pyodbc.Error) as refused:  # the driver parsed it and went to the network
        pyodbc.connect(";".join(f"{k}={v}" for k, v in built), timeout=3)
    assert refused.value.args[0] == "08S01"
    with pytest.raises(pyodbc.Error) as bad:  # a value it does not know fails before that
        pyodbc.connect(freetds(closed_port(), "Encryption=bogus;"), timeout=3)
    assert bad.value.args[0] == "08001"


def test_a_closed_port_is_unreachable_with_the_drivers_reason(tmp_path: Path) -> None:
    found = collect(inventory(tmp_path / "inv.yaml", freetds(closed_port())))
    assert found
    assert {o.status for o in found} == {ObservationStatus.UNREACHABLE}
    assert all("Adaptive Server is unavailable" in (o.error or "") for o in found), found[0]
    assert all("not-a-real-secret" not in (o.error or "") for o in found)


def test_a_port_that_never_speaks_times_out_at_the_login_timeout(tmp_path: Path) -> None:
    with silent_server() as port:
        started = time.monotonic()
        found = collect(inventory(tmp_path / "inv.yaml", freetds(port)))
        took = time.monotonic() - started
    assert {o.status for o in found} == {ObservationStatus.UNREACHABLE}
    assert all("Timeout expired" in (o.error or "") for o in found), found[0]
    assert 2.5 < took < 8, took  # login_timeout_seconds: 3, not the driver's own default


@pytest.mark.parametrize(("encrypt", "asked"), [(True, ENCRYPT_ON), (False, ENCRYPT_OFF)])
def test_encrypt_reaches_the_wire_as_the_prelogin_request(
        tmp_path: Path, tls: TlsFiles, encrypt: bool, asked: int) -> None:
    with TdsTlsStub(tls.server_cert, tls.server_key) as stub:
        found = collect(inventory(tmp_path / "inv.yaml", freetds(stub.port), encrypt=encrypt))
    assert stub.encryption == asked
    assert stub.outcome == "accepted"  # SERVER=: freetds.conf is not read (see below)
    assert stub.tds_version == TDS_7_3
    assert found
    assert all(not o.ok for o in found)  # the stub never logs anyone in


@pytest.mark.parametrize(("version", "wire"), [("7.3", TDS_7_3), ("7.4", TDS_7_4),
                                               ("auto", TDS_7_4)])
def test_tds_version_keyword(tls: TlsFiles, version: str, wire: int) -> None:
    with TdsTlsStub(tls.server_cert, tls.server_key) as stub, pytest.raises(pyodbc.Error):
        pyodbc.connect(freetds(stub.port, f"TDS_Version={version};Encryption=require;"
                               "UID=a;PWD=b;"), timeout=5)
    assert stub.tds_version == wire


def test_the_collector_asks_freetds_for_msdb_and_tds_7_3(tmp_path: Path, tls: TlsFiles) -> None:
    """Without DATABASE= and TDS_Version= in the inventory's string, LOGIN7 still names msdb
    (the probes' two-part names need it) and TDS 7.3 (below it the clock comes back as text)."""
    with TdsTlsStub(tls.server_cert, tls.server_key) as stub:
        collect(inventory(tmp_path / "inv.yaml",
                          f"DRIVER={{FreeTDS}};SERVER=127.0.0.1;PORT={stub.port};"))
    assert (stub.outcome, stub.database, stub.tds_version) == ("accepted", "msdb", TDS_7_3)


def test_a_server_offering_no_tls_is_unreachable_for_tls(tmp_path: Path, tls: TlsFiles) -> None:
    with TdsTlsStub(tls.server_cert, tls.server_key, encryption=ENCRYPT_NOT_SUP) as stub:
        found = collect(inventory(tmp_path / "inv.yaml", freetds(stub.port)))
    assert stub.outcome == "no encryption offered"
    assert not stub.clear_login  # Encryption=require: FreeTDS stops before the login
    assert found
    assert {o.status for o in found} == {ObservationStatus.UNREACHABLE}
    assert {o.error for o in found} == {
        "tls: 08001 [FreeTDS][SQL Server]Unable to connect to data source (0). "
        + FREETDS_HINT}


def test_the_opt_out_sends_the_login_to_a_server_offering_no_tls(tmp_path: Path,
                                                                 tls: TlsFiles) -> None:
    """`encrypt: false` gets past a server without TLS, and this is its cost: the login (and
    then the audit) crosses the network in clear."""
    with TdsTlsStub(tls.server_cert, tls.server_key, encryption=ENCRYPT_NOT_SUP) as stub:
        collect(inventory(tmp_path / "inv.yaml", freetds(stub.port), encrypt=False))
    assert stub.clear_login


def test_debians_freetds_still_speaks_tls_1_0(tls: TlsFiles) -> None:
    """Debian's tdsodbc is built with GnuTLS, which still negotiates TLS 1.0 with a SQL Server
    2008 R2 / 2012 that lacks the TLS 1.2 update; Microsoft's drivers (OpenSSL 3) refuse it."""
    with TdsTlsStub(tls.server_cert, tls.server_key, tls_1_0_only=True) as stub, \
            pytest.raises(pyodbc.Error):
        pyodbc.connect(freetds(stub.port, "TDS_Version=7.3;Encryption=require;UID=a;PWD=b;"),
                       timeout=5)
    assert (stub.outcome, stub.tls_version) == ("accepted", "TLSv1")


@pytest.fixture
def conf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A freetds.conf of the test's own (FreeTDS reads $FREETDSCONF first)."""
    path = tmp_path / "freetds.conf"
    monkeypatch.setenv("FREETDSCONF", str(path))
    return path


def _handshake(conf: Path, ca_file: str | None, cert: TlsFiles, host: str = "localhost",
               key: str = "Servername") -> str:
    with TdsTlsStub(cert.server_cert, cert.server_key) as stub:
        conf.write_text("[global]\n" + (f"\tca file = {ca_file}\n" if ca_file else "")
                        + f"[sqltest]\n\thost = {host}\n\tport = {stub.port}\n"
                        "\ttds version = 7.3\n", encoding="utf-8")
        target = "Servername=sqltest" if key == "Servername" else f"SERVER={host};PORT={stub.port}"
        with pytest.raises(pyodbc.Error):
            pyodbc.connect(f"DRIVER={{FreeTDS}};{target};DATABASE=msdb;UID=a;PWD=b;"
                           "Encryption=require;", timeout=5)
    return stub.outcome


def test_ca_file_makes_freetds_check_the_certificate(conf: Path, tls: TlsFiles,
                                                     tmp_path: Path) -> None:
    assert _handshake(conf, None, tls) == "accepted"  # Debian's default: any certificate
    assert _handshake(conf, "system", tls).startswith("refused")  # a lab CA is not a system CA
    assert _handshake(conf, str(tls.ca_cert), tls) == "accepted"  # the admin's own CA
    other = make_tls_files(tmp_path / "other", host="192.0.2.7")  # SAN: localhost, 192.0.2.7
    assert _handshake(conf, str(other.ca_cert), other, host="127.0.0.1").startswith("refused")


def test_with_server_freetds_reads_no_freetds_conf(conf: Path, tls: TlsFiles) -> None:
    """FreeTDS 1.3 (Debian 12): SERVER= skips freetds.conf, so `ca file` cannot apply."""
    assert _handshake(conf, "system", tls, key="SERVER") == "accepted"


def test_the_setup_configured_certificate_checking() -> None:
    lines = [line.strip() for line in
             Path("/etc/freetds/freetds.conf").read_text(encoding="utf-8").splitlines()]
    section, ca_file = "", None
    for line in lines:
        if line.startswith("["):
            section = line
        elif section == "[global]" and line.replace(" ", "").startswith("cafile="):
            ca_file = line.split("=", 1)[1].strip()
    assert ca_file == "system", "run scripts/bootstrap.sh: freetds.conf [global] has no ca file"


def test_preflight_names_a_missing_driver_and_its_package(tmp_path: Path) -> None:
    missing = "FreeTDS (not installed)"
    assert missing not in pyodbc.drivers()
    path = inventory(tmp_path / "inv.yaml", freetds(closed_port()).replace("FreeTDS", missing))
    checks = {c.check: c for c in preflight_sql(load_inventory(path))}
    assert not checks["driver"].ok
    assert checks["driver"].detail == (f"ODBC driver {missing!r} is not installed; on Debian: "
                                       "apt-get install tdsodbc")
    assert checks["driver"].fix == "on Debian: apt-get install tdsodbc"
    assert "login" not in checks  # nothing to log in with
    found = collect(path)  # and the audit says the same, per observation
    assert {o.status for o in found} == {ObservationStatus.ERROR}
    assert all(o.error == checks["driver"].detail for o in found)


def test_preflight_names_microsofts_package_for_odbc_driver_18(tmp_path: Path) -> None:
    name = "ODBC Driver 18 for SQL Server"
    if name in pyodbc.drivers():
        pytest.skip(f"{name} is installed here")
    path = inventory(tmp_path / "inv.yaml",
                     f"DRIVER={{{name}}};SERVER=tcp:127.0.0.1,{closed_port()};DATABASE=msdb;")
    driver = next(c for c in preflight_sql(load_inventory(path)) if c.check == "driver")
    assert not driver.ok
    assert driver.detail.startswith(f"ODBC driver {name!r} is not installed; install "
                                    "Microsoft's msodbcsql18")


def test_preflight_flags_freetds_with_server_as_unchecked_tls(tmp_path: Path) -> None:
    server = inventory(tmp_path / "a.yaml", freetds(closed_port()))
    named = inventory(tmp_path / "b.yaml", "DRIVER={FreeTDS};Servername=sqltest;DATABASE=msdb;")
    opted_out = inventory(tmp_path / "c.yaml", freetds(closed_port()), encrypt=False)
    flagged = [c for c in preflight_sql(load_inventory(server)) if c.check == "certificate"]
    assert [c.ok for c in flagged] == [False]
    assert flagged[0].fix is not None
    assert "Servername=" in flagged[0].fix
    for path in (named, opted_out):
        assert all(c.check != "certificate" for c in preflight_sql(load_inventory(path)))
