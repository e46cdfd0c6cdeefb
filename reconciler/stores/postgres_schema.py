"""The PostgreSQL store's schema and statements: migrations, and one write per change kind.

Kept apart from `postgres.py`, which reads, locks and journals, and from
`postgres_connect.py`, which connects and migrates: this is the part a schema change
touches. The tables and their meaning are the SQLite store's, with PostgreSQL types
(TIMESTAMPTZ, BOOLEAN, an identity column). Every statement is made of constants; values
are always bound.
"""

from __future__ import annotations

from reconciler.manual import DOMAIN_DIGEST
from reconciler.plan import Action, Kind

VERSION_TABLE = "insomnia_sso_schema"
"""One row per migration applied; the highest `version` is the schema's version."""

MIGRATION_LOCK = 0x1550
"""First key of `pg_advisory_xact_lock(key, hashtext(schema))`: one migrator per schema."""

CREATE_VERSION_TABLE = f"""CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (
    version INTEGER PRIMARY KEY,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)"""
# to_regclass resolves through search_path, so a deployment's chosen schema is the one used.
HAS_STORE = f"SELECT to_regclass('{VERSION_TABLE}') IS NOT NULL"
SELECT_VERSION = f"SELECT coalesce(max(version), 0) FROM {VERSION_TABLE}"  # noqa: S608
RECORD_VERSION = f"INSERT INTO {VERSION_TABLE} (version) VALUES (%s)"  # noqa: S608

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: the first schema
        "CREATE TABLE enterprises (name TEXT PRIMARY KEY, created_at TIMESTAMPTZ NOT NULL)",
        """CREATE TABLE domains (
            enterprise TEXT NOT NULL REFERENCES enterprises (name) ON DELETE CASCADE,
            name TEXT NOT NULL,
            verified BOOLEAN NOT NULL DEFAULT false,
            created_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (enterprise, name)
        )""",
        """CREATE TABLE sso_connections (
            enterprise TEXT PRIMARY KEY REFERENCES enterprises (name) ON DELETE CASCADE,
            domain_identifier TEXT NOT NULL,
            sso_url TEXT NOT NULL,
            client_id TEXT NOT NULL,
            issuer TEXT NOT NULL,
            secret_fingerprint TEXT NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL
        )""",
        """CREATE TABLE organizations (
            enterprise TEXT NOT NULL REFERENCES enterprises (name) ON DELETE CASCADE,
            name TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (enterprise, name)
        )""",
        """CREATE TABLE invitations (
            enterprise TEXT NOT NULL,
            organization TEXT NOT NULL,
            email TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
            status TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'expired', 'revoked')),
            invited_at TIMESTAMPTZ NOT NULL,
            expires_at TIMESTAMPTZ NOT NULL,
            updated_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (enterprise, organization, email),
            FOREIGN KEY (enterprise, organization)
                REFERENCES organizations (enterprise, name) ON DELETE CASCADE
        )""",
        """CREATE TABLE members (
            enterprise TEXT NOT NULL,
            organization TEXT NOT NULL,
            email TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
            joined_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (enterprise, organization, email),
            FOREIGN KEY (enterprise, organization)
                REFERENCES organizations (enterprise, name) ON DELETE CASCADE
        )""",
        """CREATE TABLE locks (
            enterprise TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            acquired_at TIMESTAMPTZ NOT NULL,
            expires_at TIMESTAMPTZ NOT NULL
        )""",
        """CREATE TABLE journal (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            enterprise TEXT NOT NULL,
            at TIMESTAMPTZ NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            outcome TEXT NOT NULL,
            detail TEXT NOT NULL
        )""",
        "CREATE INDEX journal_by_enterprise ON journal (enterprise, id)",
    ),
    (  # 2: manual steps are confirmed by owners; SCIM users the tool manages
        """CREATE TABLE confirmations (
            enterprise TEXT NOT NULL,
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            digest TEXT NOT NULL,
            detail TEXT NOT NULL,
            actor TEXT NOT NULL,
            confirmed_at TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (enterprise, kind, key)
        )""",
        """CREATE TABLE managed_users (
            enterprise TEXT NOT NULL,
            user_name TEXT NOT NULL,
            since TIMESTAMPTZ NOT NULL,
            PRIMARY KEY (enterprise, user_name)
        )""",
        # As in the SQLite store: verified domains stay confirmed; the SSO connection the
        # earlier versions only recorded is a manual step again.
        f"""INSERT INTO confirmations
            SELECT enterprise, 'domain', name, '{DOMAIN_DIGEST}', '{{}}', 'migrated', created_at
            FROM domains WHERE verified""",  # noqa: S608  (a constant digest)
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

# Inviting makes sure a person holds a live invitation with a role; the rule is the SQLite
# store's. A pending, unexpired one keeps its dates (a replay is a no-op; a role change keeps
# them too); one that no longer invites anyone (revoked, expired, or accepted by someone no
# longer a member) is re-sent: pending again with fresh dates. The row's own state decides,
# not the plan's `before`, so a replayed re-send stays a no-op too.
LAPSED = """(
    i.status IN ('revoked', 'expired')
    OR (i.status = 'pending' AND i.expires_at <= excluded.invited_at)
    OR (i.status = 'accepted' AND NOT EXISTS (
        SELECT 1 FROM members AS m
        WHERE m.enterprise = i.enterprise AND m.organization = i.organization
          AND m.email = i.email))
)"""
_INVITE_CONFLICT = f"""
    ON CONFLICT (enterprise, organization, email) DO UPDATE SET
        role = excluded.role,
        status = 'pending',
        invited_at = CASE WHEN {LAPSED} THEN excluded.invited_at ELSE i.invited_at END,
        expires_at = CASE WHEN {LAPSED} THEN excluded.expires_at ELSE i.expires_at END,
        updated_at = excluded.updated_at
    WHERE {LAPSED} OR (i.status = 'pending' AND i.role <> excluded.role)
"""
INVITE = f"""
    INSERT INTO invitations AS i
        (enterprise, organization, email, role, status, invited_at, expires_at, updated_at)
    VALUES (%s, %s, %s, %s, 'pending', %s, %s, %s)
    {_INVITE_CONFLICT}
"""  # noqa: S608  (made of constants only)
INVITE_MANY = f"""
    INSERT INTO invitations AS i
        (enterprise, organization, email, role, status, invited_at, expires_at, updated_at)
    SELECT %(enterprise)s, p.organization, p.email, p.role, 'pending', %(now)s, %(expires)s,
        %(now)s
    FROM unnest(%(organizations)s::text[], %(emails)s::text[], %(roles)s::text[])
        AS p (organization, email, role)
    {_INVITE_CONFLICT}
"""  # noqa: S608  (made of constants only)
"""INVITE for a whole run of invitations in one statement (row by row costs ~30 µs each).
A statement may touch a row once only, so a run naming one person twice takes INVITE."""
INSERT_JOURNAL = """
    INSERT INTO journal (enterprise, at, actor, action, kind, key, outcome, detail)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
"""
COPY_JOURNAL = "COPY journal (enterprise, at, actor, action, kind, key, outcome, detail) FROM STDIN"
"""A batch's journal rows in one stream, in order (so their ids follow plan order)."""
ENSURE_ENTERPRISE = (
    "INSERT INTO enterprises (name, created_at) VALUES (%s, %s) ON CONFLICT DO NOTHING"
)
ENSURE_ORGANIZATION = (
    "INSERT INTO organizations (enterprise, name, created_at) VALUES (%s, %s, %s) "
    "ON CONFLICT DO NOTHING"
)
UPSERT_CONFIRMATION = """
    INSERT INTO confirmations (enterprise, kind, key, digest, detail, actor, confirmed_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (enterprise, kind, key) DO UPDATE SET
        digest = excluded.digest, detail = excluded.detail, actor = excluded.actor,
        confirmed_at = excluded.confirmed_at
"""
DELETE_CONFIRMATION = "DELETE FROM confirmations WHERE enterprise = %s AND kind = %s AND key = %s"
READ_CONFIRMATIONS = (
    "SELECT kind, key, digest, actor, confirmed_at, detail FROM confirmations WHERE enterprise = %s"
)
READ_MANAGED_USERS = "SELECT user_name FROM managed_users WHERE enterprise = %s"
REMEMBER_USER = (
    "INSERT INTO managed_users (enterprise, user_name, since) VALUES (%s, %s, %s) "
    "ON CONFLICT DO NOTHING"
)

# Reads: one query per table, rows shaped for the dataclasses they become.
READ_EXISTS = "SELECT 1 FROM enterprises WHERE name = %s"
READ_ORGANIZATIONS = "SELECT name FROM organizations WHERE enterprise = %s"
READ_INVITATIONS = (
    "SELECT organization || '/' || email, organization, email, role, status, invited_at, "
    "expires_at FROM invitations WHERE enterprise = %s"
)
READ_MEMBERS = (
    "SELECT organization || '/' || email, organization, email, role, joined_at "
    "FROM members WHERE enterprise = %s"
)

# The lock: the row is locked (FOR UPDATE) or inserted in the transaction that decides.
SELECT_LOCK = "SELECT holder, acquired_at, expires_at FROM locks WHERE enterprise = %s FOR UPDATE"
SELECT_CURRENT_LOCK = "SELECT holder, acquired_at, expires_at FROM locks WHERE enterprise = %s"
INSERT_LOCK = (
    "INSERT INTO locks (enterprise, holder, acquired_at, expires_at) VALUES (%s, %s, %s, %s) "
    "ON CONFLICT (enterprise) DO NOTHING"
)
UPDATE_LOCK = (
    "UPDATE locks SET holder = %s, acquired_at = %s, expires_at = %s WHERE enterprise = %s"
)
DELETE_LOCK = "DELETE FROM locks WHERE enterprise = %s AND holder = %s"

SELECT_INVITATION = (
    "SELECT role, status, expires_at FROM invitations "
    "WHERE enterprise = %s AND organization = %s AND email = %s FOR UPDATE"
)
ACCEPT_INVITATION = (
    "UPDATE invitations SET status = 'accepted', updated_at = %s "
    "WHERE enterprise = %s AND organization = %s AND email = %s"
)
ADD_MEMBER = (
    "INSERT INTO members (enterprise, organization, email, role, joined_at) "
    "VALUES (%s, %s, %s, %s, %s) "
    "ON CONFLICT (enterprise, organization, email) DO UPDATE SET role = excluded.role"
)
READ_JOURNAL = (
    "SELECT id, enterprise, at, actor, action, kind, key, outcome, detail "
    "FROM journal WHERE enterprise = %s ORDER BY id DESC LIMIT %s"
)


# One statement per kind and action, each an upsert or a guarded update keyed by natural keys,
# so that a replayed change is a no-op. Parameters come from `stores.base.CHANGE_PARAMS`, in
# the order given there; invitation create and update share one statement (see LAPSED).
WRITES: dict[tuple[Kind, Action], str] = {
    (Kind.INVITATION, Action.CREATE): INVITE,
    (Kind.INVITATION, Action.DELETE): (  # a revocation: the row stays, for the record
        "UPDATE invitations SET status = 'revoked', updated_at = %s WHERE enterprise = %s "
        "AND organization = %s AND email = %s AND status IN ('pending', 'expired')"
    ),
    (Kind.MEMBER, Action.UPDATE): (
        "UPDATE members SET role = %s WHERE enterprise = %s AND organization = %s AND email = %s"
    ),
    (Kind.MEMBER, Action.DELETE): (
        "DELETE FROM members WHERE enterprise = %s AND organization = %s AND email = %s"
    ),
}
WRITES[Kind.INVITATION, Action.UPDATE] = WRITES[Kind.INVITATION, Action.CREATE]
