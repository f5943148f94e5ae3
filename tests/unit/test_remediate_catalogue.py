"""A static guard on the remediation catalogue: every statement is a fixed text with `?`
parameters, no value formatted in, no INIT/FORMAT, CHECKSUM on every backup and verify, and
every rule of the pack has an entry (an action or a manual step)."""

from __future__ import annotations

import re

import pytest

from auditor.pipeline import Toolkit
from auditor.remediate.catalogue import (
    ActionKind,
    Dialect,
    default_catalogue,
    statement,
    statement_path,
    with_moves,
)

CATALOGUE = default_catalogue()
STEPS = [(action.name, name, len(step.parameters))
         for action in CATALOGUE.actions if action.kind is ActionKind.SQL
         for step in action.steps
         for name in filter(None, (step.statement, step.compressed))]


def test_every_rule_of_the_pack_has_an_entry_and_nothing_else_does() -> None:
    assert set(CATALOGUE.rules) == {r.id for r in Toolkit().pack.rules}


@pytest.mark.parametrize(("action", "name", "count"), STEPS)
@pytest.mark.parametrize("dialect", list(Dialect))
def test_statement_binds_every_value(action: str, name: str, count: int,
                                     dialect: Dialect) -> None:
    text = statement(name, dialect)
    assert text.count("?") == count, (name, dialect)
    without_literals = re.sub(r"'[^']*'", "''", text)
    assert "{" not in without_literals.replace("{CALL", ""), "a placeholder formatted in"
    assert "%" not in text
    literals = re.findall(r"'([^']*)'", text)
    # a backup type, or the fixed keywords of a batch that quotes a name with QUOTENAME
    assert set(literals) <= {"D", "L", "DROP DATABASE ", ";"}, f"{name}: literal values"


@pytest.mark.parametrize("name", sorted({n for _, n, _ in STEPS}))
def test_tsql_backups_take_checksum_and_never_overwrite(name: str) -> None:
    text = statement(name, Dialect.TSQL).upper()
    assert not re.search(r"\bINIT\b|\bFORMAT\b|\bSKIP\b|\bCOPY_ONLY\b", text), name
    if re.search(r"\bBACKUP\b|\bRESTORE\b", text):
        assert re.search(r"\bCHECKSUM\b", text), f"{name} has no CHECKSUM"
        assert "DECLARE @" in text  # names and paths go through variables, bound as ?
    if "COMPRESSION" in text:
        assert name.endswith("_compressed")


@pytest.mark.parametrize("name", sorted({n for _, n, _ in STEPS}))
def test_every_statement_has_a_lab_variant(name: str) -> None:
    assert statement_path(name, Dialect.LAB).is_file(), name


def test_start_backup_job_is_the_odbc_call_escape_with_the_job_name_bound() -> None:
    assert statement("start_backup_job", Dialect.TSQL) == "{CALL dbo.sp_start_job(?)}"
    assert statement("start_backup_job", Dialect.LAB) == "{CALL dbo.sp_start_job(?)}"


def test_manual_steps_name_a_role_and_closing_evidence() -> None:
    for rule_id, entry in CATALOGUE.rules.items():
        assert entry.manual.role, rule_id
        assert entry.manual.evidence, rule_id
        assert "<" not in entry.manual.step.replace("<date>", ""), rule_id


def test_actions_the_brief_names_are_where_they_belong() -> None:
    rules = CATALOGUE.rules
    for rule_id in ("BR-001", "BR-002", "BR-004"):
        assert rules[rule_id].actions == ["start_backup_job", "backup_database"]
    assert rules["BR-003"].actions == ["start_backup_job", "backup_log"]
    assert rules["BR-060"].actions == ["restore_test"]
    assert rules["DR-001"].actions == ["backup_service_sync"]
    assert not rules["BR-002"].one_run


SHARED = sorted(p.name.removesuffix(".sql") for p in statement_path("x", Dialect.TSQL).parent
                .glob("*.sql")
                if not p.name.endswith(".lab.sql")
                and not statement_path(p.name.removesuffix(".sql"), Dialect.LAB).is_file())


@pytest.mark.parametrize("name", SHARED)
def test_statements_shared_by_both_dialects_stay_in_the_portable_subset(name: str) -> None:
    from tests.unit.test_probe_portability import LAB_ONLY, NEITHER, TSQL_ONLY, problems

    text = statement(name, Dialect.TSQL)
    assert problems(text, {**TSQL_ONLY, **LAB_ONLY, **NEITHER}) == [], name
    aliases = re.findall(r"\bAS\s+(\w+)\b(?!\s*[()])", text, re.IGNORECASE)
    assert all(a == a.lower() for a in aliases), name  # PostgreSQL folds unquoted aliases


def test_the_shared_statements_are_the_read_only_ones() -> None:
    assert SHARED == ["backup_watermark", "backup_watermark_before", "database_state",
                      "differentials_since_full", "job_outcome", "job_running",
                      "job_watermark", "new_backups", "restore_check", "restore_watermark",
                      "server_clock"]
    for name in SHARED:
        assert statement(name, Dialect.TSQL).upper().startswith("SELECT ")


@pytest.mark.parametrize("dialect", list(Dialect))
@pytest.mark.parametrize("files", [1, 2, 5])
def test_the_restore_takes_one_bound_move_pair_per_file(dialect: Dialect, files: int) -> None:
    text = with_moves(statement("restore_database", dialect), dialect, files)
    assert text.count("?") == 2 + 2 * files
    if dialect is Dialect.TSQL:
        assert text.count("MOVE ? TO ?") == files
        assert "WITH CHECKSUM, RECOVERY" in text
        assert "DECLARE @db sysname = ?, @file nvarchar(4000) = ?" in text


def test_a_restore_without_files_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one file"):
        with_moves(statement("restore_database", Dialect.TSQL), Dialect.TSQL, 0)


def test_names_tsql_will_not_take_as_variables_are_quoted_on_the_server() -> None:
    drop = statement("drop_restored", Dialect.TSQL)
    assert "QUOTENAME(@db)" in drop
    assert "DECLARE @db sysname = ?" in drop
    assert statement("checkdb", Dialect.TSQL).endswith("DBCC CHECKDB (@db) WITH NO_INFOMSGS;")
    listing = statement("restore_filelistonly", Dialect.TSQL)
    assert "RESTORE FILELISTONLY FROM DISK = @file WITH CHECKSUM" in listing
