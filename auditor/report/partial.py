"""The label of a partial audit (--rule, --severity, or a subject selection): said on the cover,
in the summary and in the scope section, so its score is never read as the estate's."""

from __future__ import annotations

from auditor.engine.rules import RulePack
from auditor.results import Results


def partial_note(results: Results, pack_rules: int) -> str:
    """One sentence on what was selected and what the score covers; empty for a full audit."""
    scope = results.scope
    if scope.complete:
        return ""
    chosen = []
    if scope.rules:
        chosen.append(f"rule {', '.join(scope.rules)}")
    if scope.severities:
        chosen.append(f"severity {', '.join(s.value for s in scope.severities)}")
    if scope.subjects:
        chosen.append(f"subject {', '.join(scope.subjects)}")
    return (f"Partial audit: {len(results.rules)} of {pack_rules} rules were evaluated, selected "
            f"by {'; '.join(chosen)}. The score, grade and coverage are over this selection "
            "only; what was not selected was not assessed and is not reflected here.")


def selected_pack(results: Results, pack: RulePack) -> RulePack:
    """The rules the audit evaluated: the whole pack, or a partial audit's selection (so that
    no section lists, or links to, a rule that was not evaluated)."""
    if results.scope.complete:
        return pack
    return pack.model_copy(update={"rules": tuple(r for r in pack.rules
                                                  if results.scope.selects(r))})
