"""`auditor discover`: an inventory from the Lync topology (docs/discover.md)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from auditor.inventory import Credential, CredentialKind, LyncAccess

CredOpt = Annotated[str, typer.Option(
    "--credential", metavar="SPEC", help="Where the WinRM password comes from, as the "
    "inventory names it: env:VARIABLE, keyring:SERVICE, prompt or integrated.")]


def parse_credential(spec: str, username: str | None, option: str) -> Credential:
    """`env:NAME`, `keyring:NAME`, `prompt` or `integrated` as an inventory credential."""
    from auditor.errors import InputError

    kind, _, name = spec.partition(":")
    try:
        return Credential(kind=CredentialKind(kind.strip().lower()), name=name.strip() or None,
                          username=username)
    except ValueError:
        raise InputError(option, "give env:VARIABLE, keyring:SERVICE, prompt or "
                         "integrated") from None


def discover_cmd(
    lync_server: Annotated[str, typer.Option("--lync-server", metavar="FQDN", help="A server "
                                             "with the Lync Management Shell.")],
    out: Annotated[Path, typer.Option("--out", "-o", metavar="FILE", help="The inventory to "
                                      "write.")],
    credential: CredOpt = "prompt",
    username: Annotated[str | None, typer.Option(
        metavar="USER", help="The WinRM login (DOMAIN\\name).")] = None,
    transport: Annotated[str, typer.Option(metavar="NAME", help="https or http.")] = "https",
    port: Annotated[int | None, typer.Option(
        metavar="N", help="WinRM port (5986 https, 5985 http).")] = None,
    auth: Annotated[str, typer.Option(
        metavar="NAME", help="negotiate, kerberos, ntlm, credssp or basic.")] = "negotiate",
    ca_bundle: Annotated[Path | None, typer.Option(metavar="FILE", help="CA file for the "
                                                   "WinRM certificate.")] = None,
    sql: Annotated[bool, typer.Option("--sql", help="Confirm each instance's name and "
                                      "databases over ODBC.")] = False,
    sql_connection: Annotated[str | None, typer.Option(
        metavar="TEMPLATE", help="ODBC connection string for each instance, with {host}, "
        "{short}, {instance}, {server_name}, {slug}, {SLUG}; default: FreeTDS.")] = None,
    sql_credential: Annotated[str, typer.Option(metavar="SPEC", help="As --credential, for "
                                                "the SQL logins (placeholders allowed).")]
    = "integrated",
    sql_username: Annotated[str | None, typer.Option(metavar="USER", help="The SQL login.")] = None,
    sql_encrypt: Annotated[bool, typer.Option(help="TLS to SQL Server.")] = True,
    force: Annotated[bool, typer.Option("--force", help="Overwrite FILE.")] = False,
    merge: Annotated[bool, typer.Option("--merge", help="Update FILE's topology; keep the "
                                        "rest.")] = False,
) -> None:
    """Write an inventory from the Lync topology; TODO comments mark what it cannot know."""
    from auditor.cli import _guarded
    from auditor.cli.common import say
    from auditor.collect.lync_collector import CONNECT_ENV
    from auditor.discover.reading import target_for
    from auditor.discover.run import Request, check_out, run
    from auditor.discover.sqlcheck import DEFAULT_CONNECTION, SqlAccess
    from auditor.errors import InputError

    def go() -> str:
        if force and merge:
            raise InputError("--merge", "give --force or --merge, not both")
        access = lync_access(lync_server, transport, port, auth, ca_bundle,
                             parse_credential(credential, username, "--credential"))
        sql_access = SqlAccess(sql_connection or DEFAULT_CONNECTION,
                               parse_credential(sql_credential, sql_username,
                                                "--sql-credential"),
                               sql_encrypt) if sql else None
        check_out(Request(None, out, sql_access, force, merge))  # before any password prompt
        target = target_for(access, os.environ.get(CONNECT_ENV, ""))
        found, loaded = run(Request(target, out, sql_access, force, merge))
        inv = loaded.inventory
        left_out = f" ({len(found.left_out)} left out)" if found.left_out else ""
        return (f"wrote {out}: {len(inv.sites)} sites, {len(inv.pools)} pools, "
                f"{len(inv.servers)} servers, {len(inv.sql_instances)} SQL instances"
                f"{left_out}; fill in the TODO comments, then run `auditor inventory validate`")

    say(_guarded(go))


def lync_access(server: str, transport: str, port: int | None, auth: str,
                ca_bundle: Path | None, credential: Credential) -> LyncAccess:
    """The `lync:` section the options describe (bad values: exit 2, one line)."""
    from auditor.errors import InputError

    try:
        return LyncAccess.model_validate({
            "management_servers": [server], "transport": transport, "port": port,
            "auth": auth, "ca_bundle": str(ca_bundle.absolute()) if ca_bundle else None,
            "credential": credential})
    except ValueError as exc:
        raise InputError("--lync-server", _first(exc)) from None


def _first(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
    return str(exc).splitlines()[0]
