"""The audit history: every audit and remediation run remembered, in SQLite or PostgreSQL.

store.py opens a store (migrating it to the newest schema), record.py writes an audit or a
remediation run into it, states.py and diff.py read what changed between two audits,
queries.py lists and exports, snapshot.py is what a report is given, dashboard.py one HTML page.
Findings are kept as status intervals (docs/history.md), results and bundles as compressed,
content-addressed blobs.
"""
