"""Every remediation statement's T-SQL text (auditor/remediate/sql/*.sql, not the lab variants)
parsed by a T-SQL parser, sqlglot's tsql dialect: no SQL Server runs here, so catch what can be
caught without one. The static rules (no value formatted in, no INIT/FORMAT, CHECKSUM present)
stay in test_remediate_catalogue.py; this adds a parser's view of the same texts.

sqlglot does not parse BACKUP, RESTORE or DBCC (it has no grammar for them), nor the ODBC call
escape `{CALL ...}` (the driver rewrites it before T-SQL sees it). Those are listed below, each
with its reason; the rest of their batch (SET, DECLARE) is parsed, and every variable the
unparsed statement uses must be declared there.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from auditor.remediate.catalogue import SQL_DIR

NO_GRAMMAR = "sqlglot's tsql dialect has no grammar for it (parse error at the first operand)"
# file -> {leading keyword of a statement sqlglot cannot parse: why}
EXCEPTIONS: dict[str, dict[str, str]] = {
    "backup_database.sql": {"BACKUP": NO_GRAMMAR},
    "backup_database_compressed.sql": {"BACKUP": NO_GRAMMAR},
    "backup_log.sql": {"BACKUP": NO_GRAMMAR},
    "backup_log_compressed.sql": {"BACKUP": NO_GRAMMAR},
    "verify_backup.sql": {"RESTORE": NO_GRAMMAR},
    "restore_filelistonly.sql": {"RESTORE": NO_GRAMMAR},
    "restore_database.sql": {"RESTORE": NO_GRAMMAR},
    "checkdb.sql": {"DBCC": NO_GRAMMAR},
}
# The ODBC call escape: psqlODBC and the SQL Server drivers turn `{CALL p(?)}` into an RPC of p
# with its parameters; its T-SQL meaning is `EXEC p ?`, which is what is parsed.
CALL = re.compile(r"^\{CALL\s+([\w.]+)\(((?:\?\s*,\s*)*\?)?\)\}$", re.IGNORECASE)
VARIABLE = re.compile(r"@\w+")


def _files() -> list[Path]:
    return sorted(p for p in SQL_DIR.glob("*.sql") if not p.name.endswith(".lab.sql"))


def _split(text: str) -> list[str]:
    """The batch's statements: `;` outside N'...' literals ends one."""
    out, current, quoted = [], "", False
    for char in text:
        if char == "'":
            quoted = not quoted
        if char == ";" and not quoted:
            out.append(current.strip())
            current = ""
        else:
            current += char
    out.append(current.strip())
    return [s for s in out if s]


def _odbc_call(text: str) -> str | None:
    match = CALL.match(text)
    if match is None:
        return None
    return f"EXEC {match.group(1)} {match.group(2) or ''}".strip()


def _parse_one(text: str) -> exp.Expression:
    parsed = sqlglot.parse(text, dialect="tsql", error_level=sqlglot.ErrorLevel.RAISE)
    assert len(parsed) == 1, text
    tree = parsed[0]
    assert isinstance(tree, exp.Expression), text
    # sqlglot falls back to an opaque Command for statements it does not know: not a parse
    assert not isinstance(tree, exp.Command), f"only passed through, not parsed: {text}"
    # every `?` is a parameter marker, none is inside a literal
    assert len(list(tree.find_all(exp.Placeholder))) == text.count("?"), text
    return tree


def _declared(tree: exp.Declare) -> set[str]:
    """The variables a DECLARE names (not those its defaults use)."""
    names = [item.this if isinstance(item.this, list) else [item.this]
             for item in tree.expressions]
    return {"@" + p.name.lower() for group in names for p in group}


@pytest.mark.parametrize("path", _files(), ids=lambda p: p.name)
def test_every_tsql_statement_parses_or_is_a_listed_exception(path: Path) -> None:
    text = path.read_text(encoding="utf-8").strip()
    call = _odbc_call(text)
    if call is not None:
        assert isinstance(_parse_one(call), exp.Execute)
        return
    declared: set[str] = set()
    unparsed: dict[str, str] = {}
    for piece in _split(text):
        keyword = piece.split(None, 1)[0].upper()
        if keyword in EXCEPTIONS.get(path.name, {}):
            unparsed[keyword] = piece
            continue
        tree = _parse_one(piece)
        if isinstance(tree, exp.Declare):
            declared |= _declared(tree)
    assert set(unparsed) == set(EXCEPTIONS.get(path.name, {})), \
        f"{path.name}: the listed exceptions are exactly the statements sqlglot cannot parse"
    for keyword, piece in unparsed.items():
        used = {v.lower() for v in VARIABLE.findall(piece)}
        assert used <= declared, f"{path.name}: {keyword} uses undeclared {used - declared}"
        with pytest.raises(sqlglot.errors.ParseError):  # still unparseable: else drop the entry
            sqlglot.parse(piece, dialect="tsql", error_level=sqlglot.ErrorLevel.RAISE)


def test_the_exceptions_name_real_files() -> None:
    names = {p.name for p in _files()}
    assert set(EXCEPTIONS) <= names
    assert "start_backup_job.sql" in names  # the ODBC call escape is exercised
