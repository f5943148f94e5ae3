"""The PowerShell of the export actions: a cmdlet name and parameter names, every value sent
apart with add_parameter (never formatted into a script or command text)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import auditor.collect.share_write_preflight as share_write_preflight
import auditor.remediate.export_exec as export_exec
import auditor.remediate.lync_exec as lync_exec
import auditor.remediate.lync_plan as lync_plan
from auditor.remediate.catalogue import ActionKind, Step, load_catalogue
from auditor.remediate.export_plan import template
from auditor.remediate.selection import Selection
from tests.unit.test_remediate_plan import make_plan

CMDLET = re.compile(r"^[A-Z][a-z]+-Cs[A-Za-z]+$")
# the one core cmdlet a step may use: it writes Export-CsLisConfiguration's bytes to the share
CORE_CMDLETS = {"Set-Content"}
NAME = re.compile(r"^[A-Z][A-Za-z]+$")
SENDERS = (export_exec, share_write_preflight)


def _steps() -> list[Step]:
    return [s for a in load_catalogue().actions
            if a.kind is ActionKind.POWERSHELL and a.implemented for s in a.steps]


def test_powershell_steps_are_a_cmdlet_and_parameter_names_only() -> None:
    steps = _steps()
    assert {s.statement for s in steps} >= {
        "Export-CsConfiguration", "Export-CsLisConfiguration", "Export-CsRgsConfiguration",
        "Export-CsUserData", "Invoke-CsBackupServiceSync"}
    for step in steps:
        assert CMDLET.match(step.statement) or step.statement in CORE_CMDLETS, step.statement
        assert all(NAME.match(p) for p in [*step.parameters, *step.switches]), step
        shown = template(step.statement, step.parameters, step.switches)
        assert shown.endswith("-ErrorAction Stop")
        # the shown text names each parameter as a variable, holds no value
        rest = re.sub(r"-(\w+) \$\1", "", shown.replace("-ErrorAction Stop", ""))
        for switch in step.switches:
            rest = rest.replace(f"-{switch}", "")
        assert rest.strip() == step.statement


def test_never_remove_exported_configuration() -> None:
    # Export-CsRgsConfiguration -RemoveExportedConfiguration deletes the Response Group
    # configuration it exports: no step, plan text or sender may name it
    for step in _steps():
        named = [step.statement, *step.parameters, *step.switches]
        assert not [n for n in named if "removeexported" in n.lower()], step
    rgs = next(a for a in load_catalogue().actions if a.name == "export_rgs")
    assert [s.statement for s in rgs.steps] == ["Export-CsRgsConfiguration"]
    assert rgs.steps[0].parameters == ["Source", "FileName"]
    assert rgs.steps[0].switches == []
    for module in (*SENDERS, lync_plan, lync_exec):
        text = Path(str(module.__file__)).read_text(encoding="utf-8").lower()
        assert "removeexportedconfiguration" not in text, module


def test_the_senders_send_values_only_with_add_parameter() -> None:
    for module in SENDERS:
        tree = ast.parse(Path(str(module.__file__)).read_text(encoding="utf-8"))
        calls = {n.func.attr for n in ast.walk(tree)
                 if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
        assert {"add_cmdlet", "add_parameter"} <= calls, module
        assert not calls & {"add_script", "add_statement", "add_command"}, module
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
