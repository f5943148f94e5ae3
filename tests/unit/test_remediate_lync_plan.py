"""Planning BR-011's exports and DR-001's sync from a finding (no endpoint): what a file store
copy that failed does to the plan, and the DR-001 findings a sync cannot fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from auditor.facts import Known, Unknown
from auditor.facts.lync import BackupModule, BackupServiceStatus, LyncFacts
from auditor.findings import Finding, Severity, Status, Subject, SubjectType
from auditor.inventory import Inventory, LyncAccess, load_inventory
from auditor.remediate.catalogue import load_catalogue
from auditor.remediate.lync_plan import exports_plan, robocopy_step, sync_plan

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo"
UNC = "\\\\bnebak01.fabrikam.com\\lyncexports"
BNE, CHI = "lyncbne.fabrikam.com", "lyncchi.fabrikam.com"


def _inventory() -> Inventory:
    inv = load_inventory(DEMO / "drifted" / "inventory.yaml").inventory
    return inv.model_copy(update={"lync": LyncAccess(management_servers=["mgmt01.fabrikam.com"])})


def _finding(rule: str, subject: Subject, observed: Any = None) -> Finding:
    return Finding(rule_id=rule, practice="P", severity=Severity.MEDIUM, subject=subject,
                   status=Status.FAIL, status_before_waiver=Status.FAIL, message="m",
                   observed=observed)


def _share_finding(**kinds: str) -> Finding:
    subject = Subject(id=f"share:{UNC}", type=SubjectType.SHARE, name=UNC)
    return _finding("BR-011", subject, {k: {"status": v} for k, v in kinds.items()})


def test_a_stale_file_store_copy_is_a_robocopy_item_and_the_exports_only_contribute() -> None:
    finding = _share_finding(lis="fail", rgs="pass", user_data="not_in_use", file_store="fail")
    made = exports_plan(_inventory(), load_catalogue(), finding, ["\\\\fs01.fabrikam.com\\lync"])
    (lis,) = made.actions  # only the kind that failed
    assert lis.action == "export_lis"
    assert lis.fixes == []
    assert [r.rule_id for r in lis.contributes] == ["BR-011"]
    assert made.manual is not None
    assert made.step is not None
    assert made.step.endswith(
        'robocopy "\\\\fs01.fabrikam.com\\lync" "\\\\bnebak01.fabrikam.com\\lyncexports\\'
        'FileStore-$(Get-Date -Format yyyyMMdd)" /E /COPY:DAT /R:2 /W:5 /NP '
        '/LOG:"\\\\bnebak01.fabrikam.com\\lyncexports\\FileStore-robocopy-'
        '$(Get-Date -Format yyyyMMdd).log"')


def test_robocopy_without_a_recorded_file_store_says_where_to_find_it() -> None:
    assert "Get-CsService -FileStore" in robocopy_step(UNC, [])


def _lync(bne: str, chi: str, pairing: str | None = CHI) -> LyncFacts:
    def status(state: str) -> Known[BackupServiceStatus]:
        return Known(BackupServiceStatus(pool="", modules=(
            BackupModule("UserServices.PresenceFocus", state, "NormalState"),)), ())
    empty: Any = {}
    return LyncFacts(cms_replicas=Unknown(""), exports=Unknown(""),
                     backup_pools={BNE: Known(pairing, ())},
                     backup_service={BNE: status(bne), CHI: status(chi)},
                     share_acls=empty, share_space=empty, share_files=empty, servers=empty,
                     database_services=Unknown(""), topology_pools=Unknown(""),
                     topology_computers=Unknown(""))


POOL = Subject(id=f"pool:{BNE}", type=SubjectType.POOL, name=BNE, pool=BNE)


def test_a_sync_is_planned_for_the_side_out_of_sync_only() -> None:
    action = load_catalogue().action("backup_service_sync")
    made = sync_plan(_inventory(), action, _finding("DR-001", POOL),
                     _lync("SteadyState", "ErrorState"))
    assert not isinstance(made, str)
    (sync,) = made
    assert sync.statements[0].parameters == {"PoolFqdn": CHI}
    assert sync.statements[0].text == "Invoke-CsBackupServiceSync -PoolFqdn $PoolFqdn " \
        "-ErrorAction Stop"


@pytest.mark.parametrize(("lync", "why"), [
    (_lync("SteadyState", "SteadyState", pairing="other.fabrikam.com"), "does not confirm"),
    (_lync("SteadyState", "SteadyState", pairing=None), "does not confirm"),
    (_lync("SteadyState", "SteadyState"), "a sync cannot fix it"),
])
def test_a_sync_is_not_planned_for_what_it_cannot_fix(lync: LyncFacts, why: str) -> None:
    action = load_catalogue().action("backup_service_sync")
    made = sync_plan(_inventory(), action, _finding("DR-001", POOL), lync)
    assert isinstance(made, str)
    assert why in made
