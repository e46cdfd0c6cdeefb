"""Alembic's entry point for the record: run on the connection `migrate.py` hands it.

Alembic executes this file for every command (`upgrade`, `stamp`). The connection arrives
in `config.attributes["connection"]`, already inside the one write transaction that holds
the migration lock, so Alembic begins and commits nothing itself: the whole upgrade and
the marker after it commit together or not at all. The version table's name comes the same
way, so the history imports nothing of the package.
"""

from __future__ import annotations

from alembic import context

context.configure(
    connection=context.config.attributes["connection"],
    version_table=context.config.attributes["version_table"],
    transactional_ddl=True,
)
with context.begin_transaction():  # a no-op inside the caller's transaction
    context.run_migrations()
