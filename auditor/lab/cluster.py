"""A throwaway PostgreSQL cluster for the msdb lab.

initdb into a fresh temporary directory (as the `postgres` OS user when running as root, since
initdb refuses root), a free port on 127.0.0.1 only, scram-sha-256 for every TCP login, TLS with
a self-signed certificate made at start. The lab's administrator connects over the Unix socket
in that private directory (trust, reachable only by its owner); logins over TCP use passwords
that are sent to the server as SCRAM verifiers, so no password is ever in a logged statement.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyodbc

from auditor.errors import AuditorError
from auditor.lab.tls import write_self_signed

ADMIN_USER = "lab_admin"
PG_BIN_ENV = "AUDITOR_PG_BIN"
HOST = "127.0.0.1"
DRIVER = "PostgreSQL Unicode"
SCHEMA_SQL = Path(__file__).resolve().parent / "schema.sql"
STANDINS_SQL = Path(__file__).resolve().parent / "standins.sql"  # remediation stand-ins


class LabError(AuditorError):
    """The lab cannot be built or started; the message says what to install or fix."""


def find_bin_dir() -> Path:
    """PostgreSQL's server binaries: $AUDITOR_PG_BIN, else the newest /usr/lib/postgresql/*."""
    override = os.environ.get(PG_BIN_ENV)
    candidates = [Path(override)] if override else sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True)
    found = shutil.which("initdb")
    if found and not override:
        candidates.append(Path(found).resolve().parent)
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    raise LabError("PostgreSQL server binaries not found: install the postgresql package "
                   f"(apt-get install postgresql) or set {PG_BIN_ENV}")


def quote_ident(name: str) -> str:
    """A PostgreSQL identifier, double-quoted."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """A PostgreSQL string literal (standard_conforming_strings is on)."""
    return "'" + text.replace("'", "''") + "'"


def scram_verifier(password: str, *, iterations: int = 4096) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores, so the password itself is never sent."""
    if not password.isascii():
        raise LabError("lab passwords must be ASCII (no SASLprep here)")
    salt = secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class ClusterState:
    """Where a running lab cluster lives: enough to reconnect to it or stop it."""

    home: str
    port: int
    bin_dir: str
    run_as: str | None

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory."""
        return Path(self.home) / "data"

    @property
    def log_file(self) -> Path:
        """The server log (log_statement output goes here)."""
        return Path(self.home) / "server.log"

    def to_json(self) -> str:
        """For the lab's state file."""
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> ClusterState:
        """From the lab's state file."""
        raw = json.loads(text)
        return cls(home=str(raw["home"]), port=int(raw["port"]), bin_dir=str(raw["bin_dir"]),
                   run_as=raw.get("run_as"))


BASE_SETTINGS: dict[str, str] = {
    "listen_addresses": f"'{HOST}'",
    "unix_socket_permissions": "0700",
    "ssl": "on",
    "ssl_cert_file": "'server.crt'",
    "ssl_key_file": "'server.key'",
    "password_encryption": "'scram-sha-256'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "lc_messages": "'C'",
    "log_line_prefix": "'%m [%p] %u@%d '",
    "log_connections": "off",
}

HBA = "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n"


class LabCluster:
    """A running lab cluster; `start()` makes one, `stop()` removes it."""

    def __init__(self, state: ClusterState) -> None:
        self.state = state

    @property
    def port(self) -> int:
        """The TCP port on 127.0.0.1."""
        return self.state.port

    @classmethod
    def start(cls, settings: Mapping[str, str] | None = None) -> LabCluster:
        """initdb into a new temporary directory and start the server on a free port."""
        bin_dir = find_bin_dir()
        run_as = _server_user()
        home = Path(tempfile.mkdtemp(prefix="auditor-lab-"))
        if run_as:
            shutil.chown(home, run_as, run_as)
        state = ClusterState(home=str(home), port=0, bin_dir=str(bin_dir), run_as=run_as)
        try:
            _run([str(bin_dir / "initdb"), "-D", str(state.data_dir), "-U", ADMIN_USER,
                  "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                  "--locale=C", "--no-instructions"], run_as)
            _configure(state, settings or {})
            return cls(_start_on_free_port(state))
        except BaseException:
            shutil.rmtree(home, ignore_errors=True)
            raise

    def stop(self, *, remove: bool = True) -> None:
        """Stop the server (fast) and delete its directory."""
        stop_cluster(self.state, remove=remove)

    # --- administration over the Unix socket ---------------------------------------------

    def admin(self, database: str = "postgres") -> Any:
        """A superuser connection over the private Unix socket."""
        return pyodbc.connect(
            f"DRIVER={{{DRIVER}}};SERVER={self.state.home};PORT={self.port};"
            f"DATABASE={_odbc_value(database)};UID={ADMIN_USER};BoolsAsChar=0;",
            autocommit=True, timeout=10)

    def execute(self, sql: str, database: str = "postgres",
                params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement (or a script without parameters) as the superuser."""
        conn = self.admin(database)
        try:
            cursor = conn.cursor()
            cursor.execute(sql, *params)
            rows = [tuple(r) for r in cursor.fetchall()] if cursor.description else []
            cursor.close()
            return rows
        finally:
            conn.close()

    def odbc(self, database: str, user: str, *, ssl: bool | None = None,
             port: int | None = None, host: str = HOST) -> str:
        """A psqlODBC connection string without the password, as an inventory holds it."""
        mode = "" if ssl is None else f"SSLmode={'require' if ssl else 'disable'};"
        return (f"DRIVER={{{DRIVER}}};SERVER={host};PORT={port or self.port};"
                f"DATABASE={_odbc_value(database)};UID={_odbc_value(user)};{mode}")

    def create_login(self, name: str, password: str | None, *,
                     settings: Mapping[str, str] | None = None) -> None:
        """A login role; the password goes over as a SCRAM verifier, never as text."""
        secret = f" PASSWORD {quote_literal(scram_verifier(password))}" if password else ""
        self.execute(f"CREATE ROLE {quote_ident(name)} LOGIN{secret}")
        for key, value in (settings or {}).items():
            self.execute(f"ALTER ROLE {quote_ident(name)} SET {key} = {quote_literal(value)}")

    def set_password(self, name: str, password: str) -> None:
        """A new password for a login (as a SCRAM verifier)."""
        self.execute(f"ALTER ROLE {quote_ident(name)} PASSWORD "
                     f"{quote_literal(scram_verifier(password))}")

    def create_instance_database(self, name: str, time_zone: str) -> None:
        """A database per lab-schema.md: schemas, tables, functions, operators and its zone."""
        self.execute(f"CREATE DATABASE {quote_ident(name)} TEMPLATE template0 ENCODING 'UTF8'")
        self.execute(f"ALTER DATABASE {quote_ident(name)} SET timezone = "
                     f"{quote_literal(time_zone)}")
        self.execute(SCHEMA_SQL.read_text(encoding="utf-8"), name)
        self.execute(STANDINS_SQL.read_text(encoding="utf-8"), name)

    def grant(self, database: str, login: str, objects: Iterable[str]) -> None:
        """SELECT on each `schema.table`, with USAGE on its schema."""
        role = quote_ident(login)
        for obj in objects:
            schema, table = obj.split(".", 1)
            self.execute(f"GRANT USAGE ON SCHEMA {quote_ident(schema)} TO {role}", database)
            self.execute(f"GRANT SELECT ON {quote_ident(schema)}.{quote_ident(table)} "
                         f"TO {role}", database)

    def revoke(self, database: str, login: str, objects: Iterable[str]) -> None:
        """Take SELECT back: the probe reading it then ends `denied`."""
        for obj in objects:
            schema, table = obj.split(".", 1)
            self.execute(f"REVOKE SELECT ON {quote_ident(schema)}.{quote_ident(table)} "  # noqa: S608
                         f"FROM {quote_ident(login)}", database)

    def server_log(self) -> str:
        """The server log so far."""
        return self.state.log_file.read_text(encoding="utf-8", errors="replace")


def _server_user() -> str | None:
    """Who runs the server: ourselves, or `postgres` when we are root (initdb refuses root)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise LabError("running as root needs the `postgres` user to run the lab server "
                       "(the postgresql package creates it)") from None
    return "postgres"


def _odbc_value(value: str) -> str:
    return value if value.replace("_", "").isalnum() else "{" + value.replace("}", "}}") + "}"


def _run(cmd: list[str], run_as: str | None, *, check: bool = True) -> str:
    """A PostgreSQL tool, as `postgres` when we are root; its output on failure."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"}
    result = subprocess.run(cmd, user=run_as, group=run_as, env=env, capture_output=True,
                            text=True, check=False, cwd="/", timeout=120)
    if check and result.returncode != 0:
        raise LabError(f"{Path(cmd[0]).name} failed: {(result.stderr or result.stdout).strip()}")
    return result.stdout


def _configure(state: ClusterState, settings: Mapping[str, str]) -> None:
    data = state.data_dir
    write_self_signed(data / "server.crt", data / "server.key")
    (data / "pg_hba.conf").write_text(HBA, encoding="utf-8")
    merged = {**BASE_SETTINGS, "unix_socket_directories": quote_literal(state.home),
              **settings}
    extra = "".join(f"{key} = {value}\n" for key, value in merged.items())
    with (data / "postgresql.conf").open("a", encoding="utf-8") as conf:
        conf.write("\n# auditor msdb lab\n" + extra)
    if state.run_as:
        for path in (data / "server.crt", data / "server.key", data / "pg_hba.conf"):
            shutil.chown(path, state.run_as, state.run_as)


def _start_on_free_port(state: ClusterState) -> ClusterState:
    last = ""
    for _ in range(5):
        port = free_port()
        started = ClusterState(home=state.home, port=port, bin_dir=state.bin_dir,
                               run_as=state.run_as)
        result = subprocess.run(
            [str(Path(state.bin_dir) / "pg_ctl"), "-D", str(state.data_dir), "-l",
             str(started.log_file), "-o", f"-p {port}", "-w", "-t", "60", "start"],
            user=state.run_as, group=state.run_as, capture_output=True, text=True,
            check=False, cwd="/", timeout=90)
        if result.returncode == 0:
            return started
        last = (result.stderr or result.stdout).strip()
    log_text = ""
    if started.log_file.exists():
        log_text = started.log_file.read_text(encoding="utf-8", errors="replace")[-800:]
    raise LabError(f"the lab server did not start: {last} {log_text}".strip())


def stop_cluster(state: ClusterState, *, remove: bool = True) -> None:
    """pg_ctl stop -m fast, then delete the directory (used by `auditor lab sql down` too)."""
    if state.data_dir.exists():
        _run([str(Path(state.bin_dir) / "pg_ctl"), "-D", str(state.data_dir), "-m", "fast",
              "-w", "stop"], state.run_as, check=False)
    if remove:
        shutil.rmtree(state.home, ignore_errors=True)
