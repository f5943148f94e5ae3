"""Alembic environment: the store hands over an open connection inside its own transaction
(auditor/history/store.py), so a migration commits whole or not at all."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
