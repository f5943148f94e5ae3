"""The PowerShell of the export actions: a cmdlet name and parameter names, every value sent
apart with add_parameter (never formatted into a script or command text)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import auditor.remediate.export_exec as export_exec
from auditor.remediate.catalogue import ActionKind, load_catalogue
from auditor.remediate.export_plan import template
from auditor.remediate.selection import Selection
from tests.unit.test_remediate_plan import make_plan

CMDLET = re.compile(r"^[A-Z][a-z]+-Cs[A-Za-z]+$")
NAME = re.compile(r"^[A-Z][A-Za-z]+$")


def test_powershell_steps_are_a_cmdlet_and_parameter_names_only() -> None:
    steps = [s for a in load_catalogue().actions
             if a.kind is ActionKind.POWERSHELL and a.implemented for s in a.steps]
    assert steps, "no implemented PowerShell action"
    for step in steps:
        assert CMDLET.match(step.statement), step.statement
        assert all(NAME.match(p) for p in step.parameters), step.parameters
        shown = template(step.statement, step.parameters)
        assert shown.endswith("-ErrorAction Stop")
        # the shown text names each parameter as a variable, holds no value
        assert re.sub(r"-(\w+) \$\1", "", shown.replace("-ErrorAction Stop", "")).strip() \
            == step.statement


def test_the_executor_sends_values_only_with_add_parameter() -> None:
    tree = ast.parse(Path(export_exec.__file__).read_text(encoding="utf-8"))
    calls = {n.func.attr for n in ast.walk(tree)
             if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
    assert {"add_cmdlet", "add_parameter"} <= calls
    assert not calls & {"add_script", "add_statement"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "add_cmdlet":
            # the cmdlet is the catalogue's name, never a built string
            assert all(isinstance(a, ast.Name) for a in node.args)


def test_without_a_lync_section_br010_is_a_checklist_item_saying_why(tmp_path: Path) -> None:
    # the recorded neglected estate fails BR-010; its inventory has no lync: section
    plan = make_plan(tmp_path, Selection(rules=("BR-010",)))
    assert plan.actions == []
    (item,) = plan.manual
    assert item.finding.rule_id == "BR-010"
    assert item.finding.subject == "share:\\\\fs01.litwareinc.com\\lyncexports"
    assert "no lync: section" in item.reason
