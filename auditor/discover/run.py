"""Discovery from end to end: read, build, confirm (--sql), then write or merge."""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass
from pathlib import Path

from auditor.canonical import write_atomic
from auditor.discover.entries import Entries, entries
from auditor.discover.merge import merge
from auditor.discover.model import build, local_candidates
from auditor.discover.reading import Target, read_topology
from auditor.discover.sqlcheck import SqlAccess, confirm
from auditor.discover.writer import render
from auditor.errors import AuditorError, InputError
from auditor.inventory import LoadedInventory, load_inventory


@dataclass(frozen=True)
class Request:
    """What to discover from, and where the inventory goes."""

    target: Target | None  # None: only the output file is checked (check_out)
    out: Path
    sql: SqlAccess | None = None
    force: bool = False
    merge: bool = False
    interactive: bool | None = None


def check_out(request: Request) -> None:
    """Refuse to overwrite without --force; with --merge, the file must load as it is."""
    if not request.out.exists():
        return
    if request.merge:
        load_inventory(request.out)
    elif not request.force:
        raise InputError(request.out, "exists; --force overwrites it, --merge updates its "
                         "topology and keeps the rest")


def discover(request: Request) -> Entries:
    """The inventory entries of the topology (confirmed over ODBC with --sql)."""
    if request.target is None:
        raise ValueError("discover needs a target")
    topology = build(read_topology(request.target))
    local = local_candidates(topology)
    if request.sql is not None:
        for inst in [*topology.instances, *local]:
            confirm(inst, request.sql, request.interactive)
    else:
        for inst in local:
            inst.notes.append("not checked: run discover with --sql to find out")
    return entries(topology, request.target.access, request.sql, local)


def run(request: Request, now: dt.datetime | None = None) -> tuple[Entries, LoadedInventory]:
    """Discover, write (or merge into) the inventory, and return it loaded (validated)."""
    check_out(request)
    found = discover(request)
    now = now or dt.datetime.now(dt.UTC)
    if request.merge and request.out.exists():
        text = merge(request.out, found, now.date())
    else:
        text = render(found, str(found.lync["management_servers"][0]), now)
    validated(text, request.out)
    write_atomic(request.out, text.encode("utf-8"))
    return found, load_inventory(request.out)


def validated(text: str, out: Path) -> None:
    """Refuse to write an inventory that does not validate (a bug of discovery, or a merge
    with a hand-written entry that now conflicts), naming the first error."""
    with tempfile.TemporaryDirectory(prefix="auditor-discover-") as tmp:
        trial = Path(tmp) / out.name
        trial.write_text(text, encoding="utf-8")
        try:
            load_inventory(trial)
        except AuditorError as exc:
            first = str(exc).splitlines()[0].replace(str(trial), str(out))
            raise AuditorError(f"the inventory discovery made does not validate, so "
                               f"nothing was written: {first}") from None
