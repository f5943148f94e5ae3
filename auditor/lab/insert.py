"""Rows into a lab instance database: batched INSERTs with every value bound and cast to its
column's type, and the older chain backups (Filler) in one INSERT ... SELECT each."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auditor.canonical import JsonValue
from auditor.lab.cluster import LabError, quote_ident

BATCH_ROWS = 200


@dataclass(frozen=True)
class Filler:
    """`count` chain backups of one database and type, one an hour back from `newest`."""

    database_name: str
    type: str
    count: int
    first_id: int
    newest: dt.datetime
    server_name: str
    machine_name: JsonValue
    time_zone: int

    def insert(self, conn: Any) -> None:
        """One INSERT ... SELECT over generate_series, every value bound."""
        cursor = conn.cursor()
        cursor.execute(
            "INSERT INTO dbo.backupset (backup_set_id, media_set_id, database_name, "
            "server_name, machine_name, type, backup_start_date, backup_finish_date, time_zone, "
            "is_copy_only, recovery_model, backup_size) "
            "SELECT CAST(? AS integer) + 2 * g, CAST(? AS integer) + 2 * g + 1, "
            "CAST(? AS varchar(128)), CAST(? AS varchar(128)), CAST(? AS varchar(128)), "
            "CAST(? AS char(1)), CAST(? AS timestamp(3)) - g * interval '1 hour' - "
            "interval '1 minute', CAST(? AS timestamp(3)) - g * interval '1 hour', "
            "CAST(? AS smallint), false, 'FULL', 0 "
            "FROM generate_series(0, CAST(? AS integer) - 1) AS g",
            self.first_id, self.first_id, self.database_name, self.server_name,
            _param(self.machine_name), self.type, self.newest.isoformat(sep=" "),
            self.newest.isoformat(sep=" "), self.time_zone, self.count)
        cursor.close()


def insert_rows(conn: Any, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Batched INSERTs with every value bound and cast to its column's type."""
    if not rows:
        return
    schema, name = table.split(".", 1)
    cursor = conn.cursor()
    cursor.execute("SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                   "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON "
                   "n.oid = c.relnamespace WHERE n.nspname = ? AND c.relname = ? AND "
                   "a.attnum > 0 AND NOT a.attisdropped", schema, name)
    types = {str(col): str(kind) for col, kind in cursor.fetchall()}
    columns = list(dict.fromkeys(c for row in rows for c in row))
    unknown = [c for c in columns if c not in types]
    if unknown:
        raise LabError(f"{table} has no column {unknown[0]}")
    target = f"{quote_ident(schema)}.{quote_ident(name)}"
    names = ", ".join(quote_ident(c) for c in columns)
    one = "(" + ", ".join(f"CAST(? AS {types[c]})" for c in columns) + ")"
    for start in range(0, len(rows), BATCH_ROWS):
        batch = rows[start:start + BATCH_ROWS]
        values = ", ".join([one] * len(batch))
        params = [_param(row.get(c)) for row in batch for c in columns]
        cursor.execute(f"INSERT INTO {target} ({names}) VALUES {values}", *params)  # noqa: S608
    cursor.close()


def _param(value: Any) -> Any:
    """Bundle values go in as text where pyodbc would guess a type PostgreSQL then rejects."""
    if isinstance(value, bool) or value is None:
        return None if value is None else int(value)
    if isinstance(value, int | str):
        return value
    return str(value)
