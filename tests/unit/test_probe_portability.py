"""A static guard on the SQL probes: lab-schema.md section 5, "the portable subset".

A probe text shared by both dialects runs on the lab in every test, but on a real SQL Server only
where AUDITOR_TEST_MSSQL is set. The lab accepts some things T-SQL rejects (and the other way
round), so the constructs section 5 names as failing on one side are refused here, in every
shared text; a dialect's own variant is held to the other dialect's list only.
"""

from __future__ import annotations

import re

import pytest

from auditor.probes.catalogue import Dialect, SqlProbe, load_catalogue

# Fails (or behaves differently) on the lab / PostgreSQL: lab-schema.md section 5.
TSQL_ONLY = {
    r"\bTOP\b": "TOP",
    r"\bISNULL\s*\(": "ISNULL()",
    r"\bGETDATE\s*\(": "GETDATE()",
    r"\bDATE(ADD|DIFF|PART)\s*\(": "DATEADD/DATEDIFF/DATEPART",
    r"\bCONVERT\s*\(": "CONVERT()",
    r"\[\w[^\]]*\]": "[brackets]",
    r"\bCROSS\s+APPLY\b|\bOUTER\s+APPLY\b": "APPLY",
    r"\bAS\s+nvarchar\b": "nvarchar in CAST",
    r"'\s*\+|\+\s*'": "+ for strings",
}
# Fails on SQL Server (2008 R2 and later).
LAB_ONLY = {
    r"\bLATERAL\b": "LATERAL",
    r"::": ":: casts",
    r"\|\|": "|| for strings",
    r"\bI?LIKE\b": "LIKE (backslash escapes differ; classify paths in Python)",
    r"\bLIMIT\b|\bOFFSET\b": "LIMIT/OFFSET",
    r"\bINTERVAL\b|\bNOW\s*\(|\bCURRENT_DATE\b": "date arithmetic or clock in SQL",
    r"\bTRUE\b|\bFALSE\b": "boolean literals (compare bit columns with 0 or 1)",
    r"\bCONCAT\s*\(": "CONCAT() (not on SQL Server 2008 R2)",
}
# Runs on both but means different things, or is refused by both.
NEITHER = {
    r"\bORDER\s+BY\b(?![^()]*\))": "ORDER BY (string and NULL order differ: sort in Python)",
    r"\bCOALESCE\s*\([^)]*\bis_\w+": "COALESCE on a bit column",
    r"\b(MAX|MIN|SUM|AVG)\s*\(\s*(\w+\.)?is_\w+": "an aggregate of a bit column",
    r"\bCURRENT_TIMESTAMP\b": "CURRENT_TIMESTAMP (the transaction's start on the lab)",
}
ALIAS = re.compile(r"\bAS\s+(\w+)\b(?!\s*[()])", re.IGNORECASE)


def problems(text: str, forbidden: dict[str, str]) -> list[str]:
    """What in a probe text is outside the allowed subset."""
    code = "\n".join(line.split("--", 1)[0] for line in text.splitlines())
    return [reason for pattern, reason in forbidden.items()
            if re.search(pattern, code, re.IGNORECASE)]


def alias_problems(probe: SqlProbe, text: str) -> list[str]:
    """Every alias lower case (PostgreSQL folds unquoted names) and a catalogue column."""
    found = []
    for alias in ALIAS.findall(text):
        if alias != alias.lower():
            found.append(f"alias {alias} is not lower case")
        elif alias not in probe.columns and len(alias) > 2:  # short ones are table aliases
            found.append(f"alias {alias} is not a column of the catalogue")
    return found


def _texts() -> list[pytest.ParameterSet]:
    """Each distinct text of each probe, with the dialects it serves."""
    out = []
    for probe in load_catalogue().sql:
        by_text: dict[str, list[Dialect]] = {}
        for dialect in Dialect:
            text = probe.text(dialect)
            if text is not None:
                by_text.setdefault(text, []).append(dialect)
        out += [pytest.param(probe.name, text, dialects,
                             id=f"{probe.name}[{'+'.join(d.value for d in dialects)}]")
                for text, dialects in by_text.items()]
    return out


@pytest.mark.parametrize(("name", "text", "dialects"), _texts())
def test_probe_stays_in_the_portable_subset(name: str, text: str,
                                            dialects: list[Dialect]) -> None:
    forbidden = dict(NEITHER)
    if Dialect.LAB in dialects:
        forbidden |= TSQL_ONLY
    if Dialect.TSQL in dialects:
        forbidden |= LAB_ONLY
    probe = next(p for p in load_catalogue().sql if p.name == name)
    assert problems(text, forbidden) + alias_problems(probe, text) == [], (name, dialects)


def test_the_guard_catches_what_section_5_names() -> None:
    shared = {**NEITHER, **TSQL_ONLY, **LAB_ONLY}
    caught = {
        "SELECT TOP 1 b.name AS name FROM dbo.backupset b": "TOP",
        "SELECT ISNULL(b.name, '') AS name FROM dbo.backupset b": "ISNULL()",
        "SELECT [b].[name] AS name FROM dbo.backupset b": "[brackets]",
        "SELECT b.name + '.bak' AS name FROM dbo.backupset b": "+ for strings",
        "SELECT CAST(b.name AS nvarchar(128)) AS name FROM dbo.backupset b": "nvarchar in CAST",
        "SELECT b.name::text AS name FROM dbo.backupset b": ":: casts",
        "SELECT b.name AS name FROM dbo.backupset b WHERE b.name LIKE 'C:\\%'":
            "LIKE (backslash escapes differ; classify paths in Python)",
        "SELECT b.name AS name FROM dbo.backupset b ORDER BY b.name":
            "ORDER BY (string and NULL order differ: sort in Python)",
        "SELECT MAX(b.is_damaged) AS damaged FROM dbo.backupset b":
            "an aggregate of a bit column",
        "SELECT b.name AS name FROM dbo.backupset b WHERE b.is_damaged = true":
            "boolean literals (compare bit columns with 0 or 1)",
    }
    for text, reason in caught.items():
        assert reason in problems(text, shared), text
    row_number = ("SELECT ROW_NUMBER() OVER (PARTITION BY b.database_name ORDER BY "
                  "b.backup_finish_date) AS n FROM dbo.backupset b")
    assert problems(row_number, shared) == []  # ORDER BY inside OVER () is portable


def test_the_alias_guard_catches_upper_case_and_unknown_aliases() -> None:
    probe = next(p for p in load_catalogue().sql if p.name == "last_backups")
    text = "SELECT MAX(b.backup_finish_date) AS LastFinish, COUNT(*) AS total FROM dbo.backupset b"
    assert alias_problems(probe, text) == ["alias LastFinish is not lower case",
                                           "alias total is not a column of the catalogue"]
