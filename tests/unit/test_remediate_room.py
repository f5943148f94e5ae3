"""Ad hoc backups are refused when their destination had too little free space at the audit."""

from __future__ import annotations

from auditor.remediate.apply import room_refusals
from auditor.remediate.catalogue import Dialect
from auditor.remediate.model import PlannedAction

SHARE = "\\\\chibak01.litwareinc.com\\sql"


def _action(key: str, size: int, destination: str | None = SHARE) -> PlannedAction:
    return PlannedAction(id=key, action="backup_database", method="adhoc",
                         instance="SQLCHI01\\RTC", database=key, subject=f"database:x/{key}",
                         dialect=Dialect.TSQL, fixes=[], statements=[],
                         destination=destination, full_backup=True, estimated_seconds=1,
                         estimated_bytes=size, deadline_seconds=300, impact="", risk="")


def test_backups_that_together_outgrow_the_share_are_all_refused() -> None:
    actions = [_action("a", 600), _action("b", 500), _action("c", 10, "\\\\other\\sql")]
    refused = room_refusals(actions, {SHARE.lower(): 1_000, "\\\\other\\sql": 10})
    assert set(refused) == {"a", "b"}
    assert refused["a"] == (f"the plan's backups to {SHARE} need about 1,100 bytes; the audit "
                            "saw 1,000 free there")


def test_room_enough_or_not_known_refuses_nothing() -> None:
    actions = [_action("a", 600), _action("b", 0)]
    assert room_refusals(actions, {SHARE.lower(): 600}) == {}
    assert room_refusals(actions, {SHARE.lower(): None}) == {}
    assert room_refusals(actions, {}) == {}
