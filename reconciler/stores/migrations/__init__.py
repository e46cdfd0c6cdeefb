"""The record's schema history, as Alembic revisions run from code (no alembic.ini).

`versions/` holds one revision per schema; a revision's id is its schema number, four
digits (`0002`, `0003`), so `int(revision)` is the number that messages and the legacy
markers show. The history starts at the baseline `0002`, equal to schema 2, the last
schema of the hand-written stores: a record they made is recognised by its marker
(`PRAGMA user_version` in SQLite, the `insomnia_sso_schema` table in PostgreSQL), stamped
`0002` and upgraded from there (a schema-1 record is first brought to 2 by the baseline's
own `from_schema_1`). `reconciler.stores.migrate` runs them; `reconciler.stores.schema`
decides when.

A new schema: add `versions/schema_N_what.py` with `revision = "000N"` and
`down_revision` the previous head, and raise `SCHEMA_VERSION` in `schema.py` (a test holds
the two equal). Revisions only go up: insomnia-sso never downgrades a record. A revision
declares its tables and constants as they were when it was written; it imports nothing
from the package, so a later change to `tables.py` cannot rewrite history.
"""

from pathlib import Path

LOCATION = Path(__file__).resolve().parent
"""The script directory Alembic reads; its `versions/` ship inside the package."""
