"""Live SQL collection: every catalogue probe against every SQL instance, over pyodbc.

One connection per instance (autocommit, a login timeout always, a query timeout always), the
probe variant picked from the driver's SQL_DBMS_NAME, parameters bound and never formatted in,
rows kept as read. Failures are observations, not exceptions: the status says what happened
(unreachable, denied, timeout, error) and the error text never holds the password.

This module holds the public entry points. The work is in auditor.connect.sql (connection
strings, errors as statuses, shared with remediation), sql_collector and sql_preflight.
"""

from __future__ import annotations

from auditor.collect.sql_collector import SqlCollector
from auditor.collect.sql_preflight import preflight_sql

__all__ = ["SqlCollector", "preflight_sql"]
