"""What real SQL Servers do that the demo estates do not show, made to happen on a lab instance
database (issue 17): each function turns one lab instance into that case.

- `present_build`: the instance reports another ProductVersion / ProductLevel (a 2008 R2 before
  SP1 has no sys.dm_os_volume_stats).
- `hide_master_files`: the login loses the server permission that lets it see sys.master_files,
  which then returns no rows, without an error (the permission lives in lab.server_permission).
- `land_in_master`: the connection opens master, not msdb: DB_NAME() says so and msdb's tables
  (schema dbo) are not there, as two-part names in master fail with error 208.
- `raise_916`: reading a table raises error 916, as SQL Server does when the login has no user in
  the database it names.
"""

from __future__ import annotations

from auditor.lab.cluster import LabCluster, quote_ident, quote_literal

NO_USER_MESSAGE = ('The server principal "{login}" is not able to access the database "{db}" '
                   "under the current security context. (916)")


def present_build(cluster: LabCluster, database: str, version: str, level: str) -> None:
    """SERVERPROPERTY('ProductVersion') and ('ProductLevel') answer these."""
    cluster.execute("UPDATE lab.instance SET product_version = ?, product_level = ?", database,
                    (version, level))


def hide_master_files(cluster: LabCluster, database: str, login: str) -> None:
    """The login keeps SELECT on sys.master_files but sees none of its rows."""
    cluster.execute("DELETE FROM lab.server_permission WHERE grantee = ?", database, (login,))


def land_in_master(cluster: LabCluster, database: str) -> None:
    """DB_NAME() answers master and msdb's tables are gone from the search path."""
    cluster.execute("UPDATE lab.instance SET database_name = 'master'", database)
    cluster.execute("ALTER SCHEMA dbo RENAME TO msdb_dbo", database)


def raise_916(cluster: LabCluster, database: str, table: str, login: str, db: str) -> None:
    """Put a view in front of `schema.table` whose every read raises error 916 naming `db`
    (a function scan, so it raises even when the table is empty)."""
    schema, name = table.split(".")
    kept = f"{quote_ident(schema)}.{quote_ident(name + '_data')}"
    message = NO_USER_MESSAGE.format(login=login, db=db)
    cluster.execute(f"ALTER TABLE {quote_ident(schema)}.{quote_ident(name)} "
                    f"RENAME TO {quote_ident(name + '_data')}", database)
    cluster.execute(
        f"CREATE FUNCTION lab.read_916() RETURNS SETOF {kept} LANGUAGE plpgsql AS $$ BEGIN "
        f"RAISE EXCEPTION USING MESSAGE = {quote_literal(message)}, ERRCODE = '42000'; END $$",
        database)
    cluster.execute(f"CREATE VIEW {quote_ident(schema)}.{quote_ident(name)} AS "  # noqa: S608
                    "SELECT * FROM lab.read_916()", database)
    cluster.grant(database, login, [table])
