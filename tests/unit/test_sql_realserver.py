"""What real SQL Servers need from the connection string and what their failures mean (issue 17
items 2-8, issue 16 item 5): the trust option per driver, DATABASE=msdb, FreeTDS's TDS version,
TLS failures as `unreachable` with the `tls` reason, error 916 as `denied`."""

from __future__ import annotations

from typing import Any

import pyodbc
import pytest
from pydantic import ValidationError

from auditor.collect.sql_plan import build_of
from auditor.connect.sql import (
    ConnectionStringError,
    build_connection_string,
    connect_failure,
    parse_connection_string,
    query_failure,
)
from auditor.connect.sql_tls import (
    CERTIFICATE_HINT,
    FREETDS_HINT,
    PROTOCOL_HINT,
    is_tls_error,
    tls_hint,
)
from auditor.evidence import ObservationStatus
from auditor.inventory import SqlInstance

MS18 = "DRIVER={ODBC Driver 18 for SQL Server};SERVER=tcp:sql01.contoso.com,1433;"
MS17 = "DRIVER={ODBC Driver 17 for SQL Server};SERVER=sql01\\RTC;"
TDS = "DRIVER={FreeTDS};SERVER=sql01.contoso.com;PORT=1433;"
TDS_NAMED = "DRIVER={FreeTDS};Servername=sqlbne01;"
PG = "DRIVER={PostgreSQL Unicode};SERVER=127.0.0.1;PORT=5432;DATABASE=lab1;"


def inst(connection: str, **fields: Any) -> SqlInstance:
    return SqlInstance.model_validate({"server_name": "SQL01\\RTC", "host": "sql01.contoso.com",
                                       "role": "back_end", "connection": connection, **fields})


def built(connection: str, **fields: Any) -> dict[str, str]:
    pairs = parse_connection_string(build_connection_string(inst(connection, **fields), None))
    keys = [k.lower() for k, _ in pairs]
    assert len(keys) == len(set(keys)), pairs  # no keyword twice: drivers differ on which wins
    return {k.lower(): v for k, v in pairs}


# --- the trust option (item 2) ------------------------------------------------------------

@pytest.mark.parametrize("driver", [MS17, MS18])
def test_any_certificate_is_trustservercertificate_on_both_microsoft_drivers(driver: str) -> None:
    out = built(driver, tls_trust={"any_certificate": True})
    assert (out["encrypt"], out["trustservercertificate"]) == ("yes", "yes")
    assert "trustservercertificate" not in built(driver)  # never without the inventory's word


def test_a_ca_file_is_servercertificate_only_with_strict_encryption() -> None:
    out = built(MS18 + "Encrypt=strict;", tls_trust={"ca_file": "/etc/auditor/sql01.pem"})
    assert (out["encrypt"], out["servercertificate"]) == ("strict", "/etc/auditor/sql01.pem")
    with pytest.raises(ConnectionStringError) as refused:
        built(MS17, tls_trust={"ca_file": "/etc/auditor/sql01.pem"})
    assert str(refused.value) == (
        "the Microsoft ODBC drivers take no CA file in the connection string (ServerCertificate= "
        "needs Driver 18.1 and Encrypt=strict, which needs SQL Server 2022): add the CA, or the "
        "server's own certificate, to this machine's trust store (update-ca-certificates) and "
        "drop tls_trust, or use FreeTDS with a freetds.conf `ca file`")


def test_freetds_takes_its_ca_file_from_freetds_conf_only() -> None:
    """FreeTDS 1.3 ignores ServerCertificate=/CAFile= in the string (a wrong CA was accepted:
    checked against tests/integration/tdsstub.py), so tls_trust cannot be mapped there."""
    with pytest.raises(ConnectionStringError) as refused:
        built(TDS_NAMED, tls_trust={"ca_file": "/etc/auditor/sql01.pem"})
    assert str(refused.value) == (
        "FreeTDS 1.3 takes a CA file only from freetds.conf: put `ca file = "
        "/etc/auditor/sql01.pem` in the server's section and connect with Servername= (drop "
        "tls_trust)")
    assert built(TDS, tls_trust={"any_certificate": True})["encryption"] == "require"
    with pytest.raises(ConnectionStringError, match="remove `ca file`"):
        built(TDS_NAMED, tls_trust={"any_certificate": True})


def test_psqlodbc_checks_the_certificate_against_the_ca_file() -> None:
    out = built(PG, tls_trust={"ca_file": "/tmp/lab.crt"})
    assert (out["sslmode"], out["pqopt"]) == ("verify-full", "sslrootcert=/tmp/lab.crt")


def test_trust_keywords_in_the_string_and_tls_trust_do_not_mix() -> None:
    with pytest.raises(ConnectionStringError, match="TrustServerCertificate= is in the "):
        built(MS18 + "TrustServerCertificate=yes;", tls_trust={"any_certificate": True})


@pytest.mark.parametrize(("fields", "message"), [
    ({"tls_trust": {"any_certificate": True}, "encrypt": False},
     "tls_trust applies only with encrypt: true"),
    ({"tls_trust": {"any_certificate": True, "ca_file": "/x.pem"}},
     "tls_trust takes one of ca_file: PATH or any_certificate: true"),
    ({"tls_trust": {}}, "tls_trust takes one of ca_file: PATH or any_certificate: true"),
])
def test_the_inventory_refuses_a_contradictory_trust(fields: dict[str, Any],
                                                     message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        inst(MS18, **fields)


# --- DATABASE=msdb (item 7) and the TDS version (item 4) -----------------------------------

@pytest.mark.parametrize("driver", [MS17, MS18, TDS, TDS_NAMED])
def test_the_tsql_drivers_open_msdb(driver: str) -> None:
    assert built(driver)["database"] == "msdb"
    assert built(driver + "DATABASE=[MSDB];")["database"] == "[MSDB]"
    with pytest.raises(ConnectionStringError) as refused:
        built(driver + "DATABASE=master;")
    assert str(refused.value) == (
        "DATABASE=master but the probes read msdb's tables: use DATABASE=msdb (sys.databases "
        "and sys.master_files are server-wide and are read from there too)")


def test_a_dsn_keeps_its_own_database_and_db_name_checks_it() -> None:
    out = built("DSN=sql01;", encrypt=False)
    assert "database" not in out


def test_freetds_gets_tds_7_3_unless_freetds_conf_names_it() -> None:
    assert built(TDS)["tds_version"] == "7.3"
    assert "tds_version" not in built(TDS_NAMED)  # the section's `tds version` decides
    for fine in ("7.3", "7.4", "auto"):
        assert built(TDS + f"TDS_Version={fine};")["tds_version"] == fine


@pytest.mark.parametrize("version", ["7.2", "7.1", "7.0", "4.2", "5.0", "8.0", "x"])
def test_freetds_below_tds_7_3_is_refused(version: str) -> None:
    with pytest.raises(ConnectionStringError) as refused:
        built(TDS + f"TDS_Version={version};")
    assert str(refused.value) == (
        f"TDS_Version={version}: FreeTDS below TDS 7.3 returns SQL Server's datetime2 values "
        "(the server clock) as text, so the probes cannot run; use TDS_Version=7.3 (SQL Server "
        "2008 and later) or 7.4 (2012 and later)")


def test_builds_compare_as_numbers() -> None:
    assert build_of("10.50.1600.1") == (10, 50, 1600, 1)
    assert build_of("10.50.1600.1") < build_of("10.50.2500") < build_of("10.50.6000.34")  # type: ignore[operator]
    assert build_of("11.0.2100.60") > build_of("10.50.2500")  # type: ignore[operator]
    assert build_of("") is None
    assert build_of("SP1") is None


# --- TLS failures (item 3, issue 16 item 5) ------------------------------------------------

TLS_CASES = [
    ("08001", "[Microsoft][ODBC Driver 17 for SQL Server]SSL Provider: [error:0A000102:SSL "
     "routines::unsupported protocol]", PROTOCOL_HINT),
    ("08001", "[Microsoft][ODBC Driver 17 for SQL Server]SSL Provider: [error:1425F102:SSL "
     "routines:ssl_choose_client_version:unsupported protocol]", PROTOCOL_HINT),
    ("08001", "[Microsoft][ODBC Driver 18 for SQL Server]SSL Provider: [error:1416F086:SSL "
     "routines:tls_process_server_certificate:certificate verify failed:self signed "
     "certificate]", CERTIFICATE_HINT),
    ("08001", "[Microsoft][ODBC Driver 18 for SQL Server]Client unable to establish connection "
     "because an error was encountered during handshakes before login.", PROTOCOL_HINT),
    ("08001", 'connection to server at "127.0.0.1", port 5432 failed: server does not support '
     "SSL, but SSL was required", PROTOCOL_HINT),
    ("08001", 'connection to server at "127.0.0.1", port 5432 failed: SSL error: certificate '
     "verify failed", CERTIFICATE_HINT),
    ("08001", "[FreeTDS][SQL Server]Unable to connect to data source", FREETDS_HINT),
]


@pytest.mark.parametrize(("state", "message", "hint"), TLS_CASES)
def test_tls_failures_are_unreachable_with_the_tls_reason_and_the_way_out(
        state: str, message: str, hint: str) -> None:
    failure = connect_failure(pyodbc.Error(state, message), [])
    assert failure.status is ObservationStatus.UNREACHABLE
    assert failure.message.startswith(f"tls: {state} ")
    assert failure.message.endswith(f". {hint}")
    assert is_tls_error(failure.message)


@pytest.mark.parametrize(("state", "message"), [
    ("08S01", "[FreeTDS][SQL Server]Unable to connect: Adaptive Server is unavailable or does "
     "not exist"),
    ("08001", "[Microsoft][ODBC Driver 18 for SQL Server]TCP Provider: Error code 0x2749"),
    ("HYT00", "[FreeTDS][SQL Server]Timeout expired"),
    ("28000", "[FreeTDS][SQL Server]Login failed for user 'svc'."),
])
def test_network_and_login_failures_are_not_tls(state: str, message: str) -> None:
    assert tls_hint(message) is None
    assert not is_tls_error(connect_failure(pyodbc.Error(state, message), []).message)


def test_the_protocol_hint_names_the_opt_out_the_update_and_openssl_with_their_costs() -> None:
    assert PROTOCOL_HINT == (
        "TLS could not be set up with the server. If the server offers no encryption, "
        "`encrypt: false` on the instance connects without requiring TLS, at the cost of the "
        "audit's queries and results crossing the network readable by anyone on the path. If "
        "it speaks only TLS 1.0/1.1 (SQL Server 2008 R2 or 2012 without the TLS 1.2 update, "
        "Microsoft KB3135244), install that update: `encrypt: false` does not help there, "
        "since SQL Server always encrypts the login. The client-side alternative, letting "
        "OpenSSL use older TLS (an OPENSSL_CONF file with MinProtocol = TLSv1 and CipherString "
        "= DEFAULT@SECLEVEL=0), weakens every TLS connection of the auditing process to "
        "protocols with known attacks.")


# --- error 916 (item 8) --------------------------------------------------------------------

def test_error_916_is_denied_with_the_user_to_create() -> None:
    message = ('[Microsoft][ODBC Driver 18 for SQL Server][SQL Server]The server principal '
               '"CONTOSO\\svc" is not able to access the database "LcsCDR" under the current '
               "security context. (916)")
    failure = query_failure(pyodbc.Error("42000", message), [])
    assert failure.status is ObservationStatus.DENIED
    assert failure.message == (
        "42000 " + message + " (the login has no user in LcsCDR: USE [LcsCDR]; CREATE USER "
        "[login] FOR LOGIN [login]; EXEC sp_addrolemember N'db_datareader', N'login';)")
