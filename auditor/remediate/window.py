"""The backup window that applies to an instance: the most specific policy scope that sets one
(instance > pool > site > the estate's policy), as the engine resolves it for BR-030, with the
backup_window written on a site, pool or instance."""

from __future__ import annotations

from auditor.engine.policy import policy_overrides
from auditor.inventory import BackupWindow, Inventory, SqlInstance


def window_for(inventory: Inventory, inst: SqlInstance) -> BackupWindow | None:
    """The instance's backup window, or None when the policy sets none for it."""
    site = inst.site or inventory.site_of_pool(inst.pool)
    best: tuple[int, BackupWindow] | None = None
    for override in policy_overrides(inventory):
        if override.backup_window is None:
            continue
        scopes = ((3, override.instance, inst.server_name), (2, override.pool, inst.pool),
                  (1, override.site, site))
        for rank, wanted, actual in scopes:
            if wanted and actual and wanted.lower() == actual.lower() and (
                    best is None or rank >= best[0]):
                best = (rank, override.backup_window)
    return best[1] if best else inventory.policy.backup_window
