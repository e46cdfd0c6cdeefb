"""Alembic revisions of the record, one per schema (Alembic skips this file)."""
