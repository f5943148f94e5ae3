"""Connection strings parsed as the drivers read them; secret-bearing keywords refused whatever
their spelling; connection strings and messages shown through the allow-list only."""

from __future__ import annotations

import pytest

from auditor.connect.odbc import ConnectionStringError, get_key, parse_connection_string
from auditor.connect.secrets import (
    SAFE_KEYWORDS,
    mask_connection_string,
    refusal,
    scrub_text,
    secret_forms,
)

CANARY = "Cn4ry-7f3a"
MS = "DRIVER={ODBC Driver 18 for SQL Server};SERVER=tcp:sql01.contoso.com,1433;DATABASE=msdb;"
TDS = "DRIVER={FreeTDS};SERVER=sql01;PORT=1433;DATABASE=msdb;TDS_Version=7.4;"
PG = "DRIVER={PostgreSQL Unicode};SERVER=127.0.0.1;PORT=5432;DATABASE=lab1;"

# Every documented keyword that can hold a secret (docs/sql-collection.md), each spelled the
# ways a driver still reads it: (name of the case, connection string, keyword named).
SECRET_CASES = [
    # Microsoft ODBC Driver 17/18 for SQL Server
    ("ms-pwd", MS + f"UID=svc;PWD={CANARY};", "PWD"),
    ("ms-pwd-lower", MS + f"pwd={CANARY}", "pwd"),
    ("ms-pwd-spaces", MS + f"  PwD  =  {CANARY} ;", "PwD"),
    ("ms-pwd-braced-keyword", MS + f"{{PWD}}={CANARY};", "PWD"),
    ("ms-pwd-braced-keyword-spaces", MS + f"{{ Pwd }} = {CANARY};", "Pwd"),
    ("ms-pwd-braced-value", MS + f"PWD={{{CANARY};x}}}}y}};APP=a;", "PWD"),
    ("ms-pwd-first-part", f"PWD={CANARY};" + MS, "PWD"),
    ("ms-password", MS + f"Password={CANARY};", "Password"),
    ("ms-keystoresecret", MS + "ColumnEncryption=Enabled;KeystoreAuthentication="
     f"KeyVaultClientSecret;KeystorePrincipalId=0f5a-11;KeystoreSecret={CANARY};",
     "KeystoreSecret"),
    ("ms-keystoresecret-case", MS + f"KEYSTORESECRET={{{CANARY}}};", "KEYSTORESECRET"),
    ("ms-keystore-password", MS + "KeystoreAuthentication=KeyVaultPassword;"
     f"KeystorePrincipalId=u@contoso.com;KeystoreSecret={CANARY};", "KeystoreSecret"),
    ("ms-clientkey-password", MS + f"ClientCertificate=file:c.pem;ClientKey=file:k.pem,"
     f"password:{CANARY};", "ClientKey"),
    ("ms-clientkey-braced", MS + f"ClientKey={{file:k.pem,PASSWORD: {CANARY}}};", "ClientKey"),
    ("ms-clientcertificate-password", MS + "ClientCertificate=file:c.pfx,password:"
     f"{CANARY};", "ClientCertificate"),
    ("ms-accesstoken", MS + f"AccessToken={CANARY};", "AccessToken"),
    ("ms-sp-secret", MS + f"Authentication=ActiveDirectoryServicePrincipal;UID=app-id;"
     f"PWD={CANARY};", "PWD"),
    ("ms-aad-password", MS + f"Authentication=ActiveDirectoryPassword;UID=u@x;"
     f"PWD={CANARY};", "PWD"),
    ("hidden-in-braced-value", MS + f"APP={{audit;PWD={CANARY}}};", "APP"),
    ("secret-looking-keyword", MS + f"Client_Secret={CANARY};", "Client_Secret"),
    # FreeTDS
    ("freetds-pwd", TDS + f"UID=svc;PWD={CANARY};", "PWD"),
    ("freetds-pwd-braced", TDS + f"PWD={{{CANARY}}};", "PWD"),
    ("freetds-password", TDS + f"Password={CANARY};", "Password"),
    # psqlODBC (the lab's driver)
    ("psqlodbc-password", PG + f"Password={CANARY};", "Password"),
    ("psqlodbc-pqopt", PG + f"pqopt={{password={CANARY}}};", "pqopt"),
    ("psqlodbc-sslpassword", PG + f"pqopt={{sslpassword={CANARY}}};", "pqopt"),
]


@pytest.mark.parametrize(("connection", "keyword"), [c[1:] for c in SECRET_CASES],
                         ids=[c[0] for c in SECRET_CASES])
def test_every_secret_keyword_is_refused_by_name_never_by_value(connection: str,
                                                                keyword: str) -> None:
    reason = refusal(connection)
    assert reason is not None
    assert f"keyword {keyword} " in reason
    assert CANARY not in reason


@pytest.mark.parametrize("connection", [
    MS + "UID=svc;Encrypt=yes;TrustServerCertificate=no;APP={Lync audit; v2};",
    MS + "ClientCertificate=file:c.pem;ClientKey=file:k.pem;KeystorePrincipalId=abc;",
    TDS + "ClientCharset=UTF-8;Encryption=require;", PG + "SSLmode=require;BoolsAsChar=0;"])
def test_connection_strings_without_secrets_pass(connection: str) -> None:
    assert refusal(connection) is None


@pytest.mark.parametrize("connection", [
    f"DRIVER={{open;PWD={CANARY}", f"SERVER=x;{CANARY};PWD=y", f"=x{CANARY};",
    f"PWD={{{CANARY}}}tail;", f"{{PWD {CANARY}"])
def test_unparseable_strings_are_refused_without_quoting_them(connection: str) -> None:
    with pytest.raises(ConnectionStringError) as caught:
        parse_connection_string(connection)
    assert CANARY not in str(caught.value)
    reason = refusal(connection)
    assert reason is not None
    assert CANARY not in reason


def test_parser_reads_as_the_drivers_do() -> None:
    pairs = parse_connection_string(
        " DRIVER = {ODBC Driver 18 for SQL Server} ;; {Server}=a;APP={x;y}}z=1};Port= 1433 ")
    assert pairs == [("DRIVER", "ODBC Driver 18 for SQL Server"), ("Server", "a"),
                     ("APP", "x;y}z=1"), ("Port", "1433")]
    assert get_key(pairs, "server") == "a"
    assert get_key(pairs, "{PORT}") == "1433"
    with pytest.raises(ConnectionStringError, match="no '='"):
        parse_connection_string("A=1;junk;PWD=x")  # not read as a key `junk;PWD`


def test_mask_shows_only_allow_listed_values() -> None:
    text = (MS + f"UID=svc;PWD={{{CANARY};}}}}}};KeystorePrincipalId={CANARY}1;"
            f"ClientKey=file:{CANARY}2.pem;FooBar={CANARY}3;AttachDBFileName={CANARY}4;"
            f"FileDSN={CANARY}5;SaveFile={CANARY}6;RetryExec={{{CANARY}7}};"
            f"APP={{a;PWD={CANARY}8}};Encrypt=yes;TDS_Version=7.4;")
    masked = mask_connection_string(text)
    assert CANARY not in masked
    pairs = dict(parse_connection_string(masked))
    assert pairs["DRIVER"] == "ODBC Driver 18 for SQL Server"
    assert pairs["SERVER"] == "tcp:sql01.contoso.com,1433"
    assert (pairs["UID"], pairs["Encrypt"], pairs["TDS_Version"]) == ("svc", "yes", "7.4")
    for key in ("PWD", "KeystorePrincipalId", "ClientKey", "FooBar", "AttachDBFileName",
                "FileDSN", "SaveFile", "RetryExec", "APP"):
        assert pairs[key] == "***", key
    assert "(connection string withheld" in mask_connection_string(f"PWD={{{CANARY}")


def test_allow_list_holds_no_secret_keyword() -> None:
    for keyword in SAFE_KEYWORDS:
        assert refusal(f"{keyword}=x;") is None, keyword


@pytest.mark.parametrize("message", [
    f"[08001] login failed; connection string was DRIVER={{x}};PWD={CANARY};SERVER=a",
    f"bad attribute {{KeystoreSecret}} = {{{CANARY} with; spaces}} near SERVER",
    f"ClientKey=file:k.pem,password:{CANARY} could not be read",
    f"Password = {CANARY} rest of the line", f"token={CANARY}"])
def test_scrub_masks_secret_fragments_in_messages(message: str) -> None:
    assert CANARY not in scrub_text(message)


def test_scrub_masks_every_form_of_a_known_secret() -> None:
    given = "p;w}d\\x"
    forms = secret_forms(given, "svc")
    assert "{p;w}}d\\x}" in forms
    assert "p;w}d\\\\x" in forms  # as repr() writes it
    for form in forms:
        assert form not in scrub_text(f"driver said: {form}!", forms), form
    assert scrub_text("login failed for user svc (SERVER=a;DATABASE=msdb)", [given]) == \
        "login failed for user svc (SERVER=a;DATABASE=msdb)"
