"""The cmdlets discovery runs on one Lync server, as PsProbe-shaped commands.

They are not in the probe catalogue: an audit does not run them. Get-CsPool, Get-CsComputer,
Get-CsService -FileStore and Get-CsPoolBackupRelationship are the catalogue's own commands; the
others (Get-CsSite and Get-CsService with one database switch per call) are discovery's.
"""

from __future__ import annotations

from auditor.probes.catalogue import PsProbe, Scope, load_catalogue

DATABASE_ROLES = ("UserDatabase", "CentralManagementDatabase", "ApplicationDatabase",
                  "MonitoringDatabase", "ArchivingDatabase", "PersistentChatDatabase",
                  "PersistentChatComplianceDatabase")
DATABASE_SELECT = ["Identity", "Role", "PoolFqdn", "SqlInstanceName", "MirrorSqlServer",
                   "MirrorSqlInstanceName", "DependentServiceList", "SiteId"]
SITES = PsProbe(name="cs_sites", scope=Scope.DEPLOYMENT, purpose="the sites of the topology",
                command="Get-CsSite", select=["Identity", "SiteId", "DisplayName", "Description",
                                              "SiteType"], rbac="CsViewOnlyAdministrator")
CATALOGUE_COMMANDS = ("cs_pools", "cs_computers", "file_stores", "pool_backup_relationship")


def database_probe(role: str) -> PsProbe:
    """Get-CsService -<role>: the database services of one store kind."""
    return PsProbe(name=f"cs_{role}", scope=Scope.DEPLOYMENT,
                   purpose=f"the {role} services and their SQL instances",
                   command="Get-CsService", parameters={role: "switch"}, select=DATABASE_SELECT,
                   rbac="CsViewOnlyAdministrator")


def discovery_probes() -> dict[str, PsProbe]:
    """Every command discovery runs, by name."""
    catalogue = {p.name: p for p in load_catalogue().powershell}
    probes = {name: catalogue[name] for name in CATALOGUE_COMMANDS}
    probes[SITES.name] = SITES
    probes.update({f"cs_{role}": database_probe(role) for role in DATABASE_ROLES})
    return probes


def own_probes() -> list[PsProbe]:
    """The commands that are discovery's alone (the lab endpoint learns to answer them)."""
    return [SITES, *(database_probe(role) for role in DATABASE_ROLES)]
