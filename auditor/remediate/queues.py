"""The order actions run in: per instance, agent jobs, then fulls, then logs, then restore tests;
and each instance's queue."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from auditor.remediate.model import PlannedAction


def ordered(actions: Iterable[PlannedAction]) -> list[PlannedAction]:
    """Per instance: agent jobs, then fulls, then log backups (a log needs a full first), then
    restore tests (run in a phase of their own, after every backup)."""
    rank = {"start_backup_job": 0, "backup_database": 1, "backup_log": 2, "restore_test": 3}
    return sorted(actions, key=lambda a: (a.instance.lower(), rank.get(a.action, 9),
                                          a.database.lower()))


def group_by_instance(actions: Sequence[PlannedAction]) -> dict[str, list[PlannedAction]]:
    """Each instance's queue, in plan order."""
    out: dict[str, list[PlannedAction]] = defaultdict(list)
    for action in actions:
        out[action.instance].append(action)
    return dict(out)
