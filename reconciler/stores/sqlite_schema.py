"""The SQLite store's schema and statements: migrations, and one write per change kind.

Kept apart from `sqlite.py`, which reads, locks and journals, and from `sqlite_open.py`,
which opens and migrates: this is the part a schema change touches. Every statement is made
of constants; values are always bound.
"""

from __future__ import annotations

from reconciler.manual import DOMAIN_DIGEST
from reconciler.plan import Action, Kind

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: the first schema
        "CREATE TABLE enterprises (name TEXT PRIMARY KEY, created_at TEXT NOT NULL)",
        """CREATE TABLE domains (
            enterprise TEXT NOT NULL REFERENCES enterprises (name) ON DELETE CASCADE,
            name TEXT NOT NULL,
            verified INTEGER NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),
            created_at TEXT NOT NULL,
            PRIMARY KEY (enterprise, name)
        ) WITHOUT ROWID""",
        """CREATE TABLE sso_connections (
            enterprise TEXT PRIMARY KEY REFERENCES enterprises (name) ON DELETE CASCADE,
            domain_identifier TEXT NOT NULL,
            sso_url TEXT NOT NULL,
            client_id TEXT NOT NULL,
            issuer TEXT NOT NULL,
            secret_fingerprint TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        """CREATE TABLE organizations (
            enterprise TEXT NOT NULL REFERENCES enterprises (name) ON DELETE CASCADE,
            name TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (enterprise, name)
        ) WITHOUT ROWID""",
        """CREATE TABLE invitations (
            enterprise TEXT NOT NULL,
            organization TEXT NOT NULL,
            email TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
            status TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'expired', 'revoked')),
            invited_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (enterprise, organization, email),
            FOREIGN KEY (enterprise, organization)
                REFERENCES organizations (enterprise, name) ON DELETE CASCADE
        ) WITHOUT ROWID""",
        """CREATE TABLE members (
            enterprise TEXT NOT NULL,
            organization TEXT NOT NULL,
            email TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
            joined_at TEXT NOT NULL,
            PRIMARY KEY (enterprise, organization, email),
            FOREIGN KEY (enterprise, organization)
                REFERENCES organizations (enterprise, name) ON DELETE CASCADE
        ) WITHOUT ROWID""",
        """CREATE TABLE locks (
            enterprise TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            acquired_at TEXT NOT NULL,
            expires_at TEXT NOT NULL
        )""",
        """CREATE TABLE journal (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            enterprise TEXT NOT NULL,
            at TEXT NOT NULL,
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
            confirmed_at TEXT NOT NULL,
            PRIMARY KEY (enterprise, kind, key)
        ) WITHOUT ROWID""",
        """CREATE TABLE managed_users (
            enterprise TEXT NOT NULL,
            user_name TEXT NOT NULL,
            since TEXT NOT NULL,
            PRIMARY KEY (enterprise, user_name)
        ) WITHOUT ROWID""",
        # Domains an owner recorded as verified stay confirmed; an SSO connection the
        # earlier versions only recorded was never entered in Insomnia by the tool: it is
        # a manual step again, for an owner to confirm.
        f"""INSERT INTO confirmations
            SELECT enterprise, 'domain', name, '{DOMAIN_DIGEST}', '{{}}', 'migrated', created_at
            FROM domains WHERE verified = 1""",  # noqa: S608  (a constant digest)
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

# Inviting makes sure a person holds a live invitation with a role. A pending, unexpired one
# keeps its dates (a replay is a no-op; a role change keeps them too); one that no longer
# invites anyone (revoked, expired, or accepted by someone no longer a member) is re-sent:
# pending again with fresh dates. The row's own state decides, not the plan's `before`, so a
# replayed re-send stays a no-op too.
LAPSED = """(
    i.status IN ('revoked', 'expired')
    OR (i.status = 'pending' AND i.expires_at <= excluded.invited_at)
    OR (i.status = 'accepted' AND NOT EXISTS (
        SELECT 1 FROM members AS m
        WHERE m.enterprise = i.enterprise AND m.organization = i.organization
          AND m.email = i.email))
)"""
INVITE = f"""
    INSERT INTO invitations AS i
        (enterprise, organization, email, role, status, invited_at, expires_at, updated_at)
    VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6, ?7)
    ON CONFLICT (enterprise, organization, email) DO UPDATE SET
        role = excluded.role,
        status = 'pending',
        invited_at = CASE WHEN {LAPSED} THEN excluded.invited_at ELSE i.invited_at END,
        expires_at = CASE WHEN {LAPSED} THEN excluded.expires_at ELSE i.expires_at END,
        updated_at = excluded.updated_at
    WHERE {LAPSED} OR (i.status = 'pending' AND i.role <> excluded.role)
"""  # noqa: S608  (made of constants only)
INSERT_JOURNAL = """
    INSERT INTO journal (enterprise, at, actor, action, kind, key, outcome, detail)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""
ENSURE_ENTERPRISE = (
    "INSERT INTO enterprises (name, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING"
)
ENSURE_ORGANIZATION = (
    "INSERT INTO organizations (enterprise, name, created_at) VALUES (?, ?, ?) "
    "ON CONFLICT DO NOTHING"
)
UPSERT_CONFIRMATION = """
    INSERT INTO confirmations (enterprise, kind, key, digest, detail, actor, confirmed_at)
    VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (enterprise, kind, key) DO UPDATE SET
        digest = excluded.digest, detail = excluded.detail, actor = excluded.actor,
        confirmed_at = excluded.confirmed_at
"""
DELETE_CONFIRMATION = "DELETE FROM confirmations WHERE enterprise = ? AND kind = ? AND key = ?"
READ_CONFIRMATIONS = (
    "SELECT kind, key, digest, actor, confirmed_at, detail FROM confirmations WHERE enterprise = ?"
)
REMEMBER_USER = (
    "INSERT INTO managed_users (enterprise, user_name, since) VALUES (?, ?, ?) "
    "ON CONFLICT DO NOTHING"
)


# One statement per kind and action, each an upsert or a guarded update keyed by natural keys,
# so that a replayed change is a no-op. Parameters come from `stores.base.CHANGE_PARAMS`, in
# the order given there; invitation create and update share one statement (see LAPSED).
WRITES: dict[tuple[Kind, Action], str] = {
    (Kind.INVITATION, Action.CREATE): INVITE,
    (Kind.INVITATION, Action.DELETE): (  # a revocation: the row stays, for the record
        "UPDATE invitations SET status = 'revoked', updated_at = ? WHERE enterprise = ? "
        "AND organization = ? AND email = ? AND status IN ('pending', 'expired')"
    ),
    (Kind.MEMBER, Action.UPDATE): (
        "UPDATE members SET role = ? WHERE enterprise = ? AND organization = ? AND email = ?"
    ),
    (Kind.MEMBER, Action.DELETE): (
        "DELETE FROM members WHERE enterprise = ? AND organization = ? AND email = ?"
    ),
}
WRITES[Kind.INVITATION, Action.UPDATE] = WRITES[Kind.INVITATION, Action.CREATE]
