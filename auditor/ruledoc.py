"""docs/rules.md, generated from the rule pack (refresh: `make docs`)."""

from __future__ import annotations

import json

from auditor.engine.rules import Rule, RulePack

HEADER = ("<!-- generated from rules/*.yaml by `auditor rules doc`; do not edit; "
          "refresh: make docs -->")


def rules_markdown(pack: RulePack) -> str:
    """Every practice with its rules, each rule with its whole documentation."""
    lines = [HEADER, "", "# The rules", "",
             f"Rule pack {pack.version.split('+')[0]}: {len(pack.rules)} rules over "
             f"{len(pack.practices)} practices of Microsoft's \"Best practices for backup and "
             "restoration for Lync Server 2013\". Thresholds are defaults; an inventory's "
             "`policy:` may override them (database > instance > pool > site > default).", "",
             "| rule | practice | severity | title |", "|---|---|---|---|"]
    lines += [f"| [{r.id}](#{r.id.lower()}) | {r.practice} | {r.severity.value} | {r.title} |"
              for r in pack.rules]
    for practice in pack.practices:
        lines += ["", f"## {practice.id}: {practice.title}", "",
                  f"> {practice.source_text}", "", f"Assessment: {practice.assessment.value}."]
        for rule in (r for r in pack.rules if r.practice == practice.id):
            lines += _rule_section(rule)
    return "\n".join(lines) + "\n"


def _rule_section(rule: Rule) -> list[str]:
    params = json.dumps(rule.params, sort_keys=True) if rule.params else "none"
    section = ["", f"### {rule.id}", "", f"**{rule.title}**", "",
               f"Severity {rule.severity.value} (weight {rule.severity.weight}); check "
               f"`{rule.check}`; default params `{params}`; subjects: "
               f"{', '.join(t.value for t in rule.applies_to)}.", "",
               f"*Why it matters.* {rule.rationale}", "",
               f"*How it is checked.* {rule.how_checked}", "",
               f"*Remediation.* {rule.remediation}"]
    if rule.controls:
        section += ["", f"*Controls.* {'; '.join(rule.controls)}"]
    if rule.references:
        section += ["", "*References.*"]
        section += [f"- {ref.title}" + (f" <{ref.url}>" if ref.url else "")
                    for ref in rule.references]
    return section
