"""What stands in for the SQL Server roles remediation needs, granted to a lab login: the
PostgreSQL roles the permission stand-ins (auditor/lab/standins.sql) read, and CREATEDB."""

from __future__ import annotations

from auditor.lab.cluster import LabCluster, quote_ident, quote_literal

REMEDIATION_ROLES = ("db_backupoperator", "SQLAgentOperatorRole")


def grant_remediation(cluster: LabCluster, login: str) -> None:
    """db_backupoperator, SQLAgentOperatorRole and dbcreator (CREATEDB) for `login`."""
    for role in REMEDIATION_ROLES:
        # cluster-wide roles: another estate of the same cluster may have made them already
        cluster.execute("DO $$ BEGIN EXECUTE 'CREATE ROLE ' || quote_ident("
                        f"{quote_literal(role)}) || ' NOLOGIN'; "
                        "EXCEPTION WHEN duplicate_object THEN NULL; END $$")
        cluster.execute(f"GRANT {quote_ident(role)} TO {quote_ident(login)}")
    cluster.execute(f"ALTER ROLE {quote_ident(login)} CREATEDB")
