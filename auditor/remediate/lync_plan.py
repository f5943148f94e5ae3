"""Planning the Lync actions besides BR-010's export: BR-011's LIS, Response Group and user data
exports (the file store copy stays a checklist item with its robocopy command) and DR-001's
Backup Service sync.

Every export is written on the export share by the management server's session, as
export_configuration's is (the same second hop, the same delegable credential, the same
preflight test-write): Export-CsRgsConfiguration and Export-CsUserData with -FileName on the
share; Export-CsLisConfiguration, which must use -AsBytes when run remotely, returns its bytes
to the auditor, which sends them back as a bound value to Set-Content on the share path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from auditor.checks.lync import _sync_state, cms_pools
from auditor.evidence import EvidenceBundle
from auditor.facts import Known
from auditor.facts.lync import LyncFacts
from auditor.findings import Finding
from auditor.inventory import Inventory, Pool
from auditor.remediate.catalogue import Action, Catalogue, Dialect
from auditor.remediate.export_plan import template
from auditor.remediate.model import PlannedAction, Statement
from auditor.remediate.selection import action_id, ref

BYTES = "{bytes}"  # a value: the byte[] the previous statement returned
LIS_NAME = "CsLis-{run}.zip"
RGS_NAME = "CsRgs-{pool}-{run}.zip"
USER_DATA_NAME = "CsUserData-{pool}-{run}.zip"
ESTIMATED_SECONDS = {"export_user_data": 300}
DEADLINE_SECONDS = {"export_user_data": 1800, "backup_service_sync": 900}
LYNC_RULES = frozenset({"BR-011", "DR-001"})
SYNC = "backup_service_sync"
FILE_STORES = "lync:file_stores:deployment"
KINDS = (("lis", "export_lis"), ("rgs", "export_rgs"), ("user_data", "export_user_data"))
STAMP = "$(Get-Date -Format yyyyMMdd)"
HOP = ("a second hop, so the remediation credential must be delegable to the share (CredSSP "
       "or Kerberos delegation); without it the write is denied and reported")


@dataclass
class LyncPlan:
    """The actions for one finding; a checklist item too when `manual` says why."""

    actions: list[PlannedAction] = field(default_factory=list)
    manual: str | None = None
    step: str | None = None  # the checklist step when it is not the catalogue's


def file_stores(bundle: EvidenceBundle) -> list[str]:
    """The file stores' UNC paths the audit read (Get-CsService -FileStore), if it did."""
    return [str(r.get("UncPath")) for o in bundle.observations
            if o.id.lower() == FILE_STORES and o.ok for r in o.data if r.get("UncPath")]


def lync_actions(inventory: Inventory, catalogue: Catalogue, finding: Finding,
                 lync: LyncFacts, stores: Sequence[str]) -> LyncPlan:
    """The plan for a BR-011 finding (on the export share) or a DR-001 finding (on a pool)."""
    if finding.rule_id == "BR-011":
        return exports_plan(inventory, catalogue, finding, stores)
    synced = sync_plan(inventory, catalogue.action(SYNC), finding, lync)
    return LyncPlan(manual=synced) if isinstance(synced, str) else LyncPlan(synced)


def _powershell(action: Action, finding: Finding, host: str, key: str,
                values: Mapping[str, str], *, destination: str | None, fixes: bool,
                notes: list[str]) -> PlannedAction:
    statements = [Statement(name=s.statement, text=template(s.statement, s.parameters,
                                                            s.switches),
                            parameters={p: values[p] for p in s.parameters},
                            switches=list(s.switches)) for s in action.steps]
    found = [ref(finding)]
    return PlannedAction(
        id=action_id(finding.rule_id, key, action.name), action=action.name,
        method="powershell", instance=host, database="", subject=finding.subject.id,
        dialect=Dialect.TSQL, fixes=found if fixes else [],
        contributes=[] if fixes else found, statements=statements, destination=destination,
        full_backup=False, estimated_seconds=ESTIMATED_SECONDS.get(action.name, 60),
        deadline_seconds=DEADLINE_SECONDS.get(action.name, 300), impact=action.impact,
        risk=action.risk, notes=notes)


def _kind_status(observed: Any, kind: str) -> str:
    entry = observed.get(kind) if isinstance(observed, dict) else None
    return str(entry.get("status")) if isinstance(entry, dict) else "fail"


def exports_plan(inventory: Inventory, catalogue: Catalogue, finding: Finding,
                 file_stores: Sequence[str]) -> LyncPlan:
    """BR-011 on the export share: one export per kind that failed (per pool for Response
    Group and user data); a file store copy that failed is a checklist item with robocopy, and
    then the exports only contribute (they cannot make the finding pass alone)."""
    if inventory.lync is None:
        return LyncPlan(manual="the inventory has no lync: section (management_servers) to "
                        "run the exports on")
    if inventory.export_share is None:
        return LyncPlan(manual="the inventory names no export_share to write the exports to")
    share = inventory.export_share.unc.rstrip("\\")
    host = inventory.lync.management_servers[0]
    store_fails = _kind_status(finding.observed, "file_store") == "fail"
    out = LyncPlan()
    if store_fails:
        out.manual = "the file store copy is not a PowerShell export: copy it by hand"
        out.step = robocopy_step(share, file_stores)
    for kind, name in KINDS:
        if _kind_status(finding.observed, kind) != "fail":
            continue
        action = catalogue.action(name)
        if kind == "lis":
            values = {"LiteralPath": f"{share}\\{LIS_NAME}", "Value": BYTES, "Encoding": "Byte"}
            out.actions.append(_powershell(
                action, finding, host, finding.subject.id, values, destination=share,
                fixes=not store_fails, notes=[_lis_note(host, share)]))
            continue
        if not inventory.pools:
            out.manual = out.manual or "the inventory names no pools to export"
        for pool in inventory.pools:
            out.actions.append(_pool_export(action, finding, host, share, pool,
                                            fixes=not store_fails))
    return out


def _pool_export(action: Action, finding: Finding, host: str, share: str, pool: Pool, *,
                 fixes: bool) -> PlannedAction:
    if action.name == "export_rgs":
        values = {"Source": f"service:ApplicationServer:{pool.fqdn}",
                  "FileName": f"{share}\\{RGS_NAME.format(pool=pool.fqdn, run='{run}')}"}
    else:
        values = {"PoolFqdn": pool.fqdn,
                  "FileName": f"{share}\\{USER_DATA_NAME.format(pool=pool.fqdn, run='{run}')}"}
    note = (f"runs on {host} and writes {values['FileName']} directly: {HOP}")
    return _powershell(action, finding, host, f"{finding.subject.id}|{pool.fqdn}", values,
                       destination=share, fixes=fixes, notes=[note])


def _lis_note(host: str, share: str) -> str:
    return (f"Export-CsLisConfiguration runs on {host} with -AsBytes (remotely it must: "
            "-FileName is not supported there); the auditor checks the bytes and sends them "
            f"back, bound, to Set-Content on {share}\\{LIS_NAME}, written by {host}: {HOP}")


def robocopy_step(share: str, file_stores: Sequence[str]) -> str:
    """The file store copy, one robocopy per file store, dated like the exports; its log on
    the share is what BR-011's FileStore* pattern finds."""
    sources = list(file_stores) or ["<file store UNC: Get-CsService -FileStore | "
                                    "Select-Object -ExpandProperty UncPath>"]
    lines = []
    for number, source in enumerate(sources, start=1):
        suffix = f"-{number}" if len(sources) > 1 else ""
        lines.append(f'robocopy "{source}" "{share}\\FileStore{suffix}-{STAMP}" /E /COPY:DAT '
                     f'/R:2 /W:5 /NP /LOG:"{share}\\FileStore{suffix}-robocopy-{STAMP}.log"')
    return ("in PowerShell on a server that reads the file store and writes the share: "
            + "; ".join(lines))


def sync_plan(inventory: Inventory, action: Action, finding: Finding,
              lync: LyncFacts) -> list[PlannedAction] | str:
    """DR-001 on a pool: Invoke-CsBackupServiceSync for each side of a confirmed cross-site
    pairing whose Backup Service modules are out of sync; or why a sync cannot fix it."""
    if inventory.lync is None:
        return "the inventory has no lync: section (management_servers) to run the sync on"
    name = (finding.subject.pool or finding.subject.name).lower()
    pool = next((p for p in inventory.pools if p.fqdn.lower() == name), None)
    if pool is None or pool.backup_pool is None:
        return "the pool has no backup pool in the inventory: pair it first"
    if inventory.site_of_pool(pool.backup_pool) == pool.site:
        return "its backup pool is in the same site: pair it with a pool in another site first"
    reported = lync.backup_pools.get(pool.fqdn.lower())
    if not isinstance(reported, Known) or (reported.value or "").lower() \
            != pool.backup_pool.lower():
        return f"Lync does not confirm {pool.backup_pool} as its backup pool: pair it first"
    sides: list[str] = []
    for side in (pool.fqdn, pool.backup_pool):
        status = lync.backup_service.get(side.lower())
        if not isinstance(status, Known):
            return f"the Backup Service status of {side} is unknown: assess it first"
        if _sync_state(side, status.value, cms_pools(inventory))[0]:
            sides.append(side)
    if not sides:
        return "no Backup Service module is out of sync: a sync cannot fix it"
    host = inventory.lync.management_servers[0]
    return [_powershell(action, finding, host, f"pool:{side}", {"PoolFqdn": side},
                        destination=None, fixes=True,
                        notes=[f"runs on {host}; then Get-CsBackupServiceStatus -PoolFqdn "
                               f"{side} is read again, and DR-001 re-evaluated"])
            for side in sides]


def merge(actions: list[PlannedAction], new: Sequence[PlannedAction]) -> None:
    """Add planned actions; one already planned (the same id: the same pool's sync for both
    pools of a pair) fixes the new finding too."""
    for action in new:
        at = next((i for i, a in enumerate(actions) if a.id == action.id), None)
        if at is None:
            actions.append(action)
            continue
        old = actions[at]
        actions[at] = old.model_copy(update={
            "fixes": [*old.fixes, *(f for f in action.fixes if f not in old.fixes)],
            "contributes": [*old.contributes,
                            *(f for f in action.contributes if f not in old.contributes)]})
