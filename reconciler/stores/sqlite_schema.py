"""The SQLite store's schema and statements: migrations, and one write per change kind.

Kept apart from `sqlite.py`, which opens, reads, locks and journals: this is the part a
schema change touches. Every statement is made of constants; values are always bound.
"""

from __future__ import annotations

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
SSO_FIELDS = ("domain_identifier", "sso_url", "client_id", "issuer", "secret_fingerprint")
UPSERT_SSO = """
    INSERT INTO sso_connections (enterprise, domain_identifier, sso_url, client_id, issuer,
        secret_fingerprint, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (enterprise) DO UPDATE SET
        domain_identifier = excluded.domain_identifier, sso_url = excluded.sso_url,
        client_id = excluded.client_id, issuer = excluded.issuer,
        secret_fingerprint = excluded.secret_fingerprint, updated_at = excluded.updated_at
"""


# One statement per kind and action, each an upsert or a guarded update keyed by natural keys,
# so that a replayed change is a no-op. Parameters come from `stores.base.CHANGE_PARAMS`, in
# the order given there; invitation create and update share one statement (see LAPSED).
WRITES: dict[tuple[Kind, Action], str] = {
    (Kind.ENTERPRISE, Action.CREATE): (
        "INSERT INTO enterprises (name, created_at) VALUES (?, ?) ON CONFLICT DO NOTHING"
    ),
    (Kind.DOMAIN, Action.CREATE): (
        "INSERT INTO domains (enterprise, name, verified, created_at) VALUES (?, ?, 0, ?) "
        "ON CONFLICT DO NOTHING"
    ),
    (Kind.DOMAIN, Action.DELETE): "DELETE FROM domains WHERE enterprise = ? AND name = ?",
    (Kind.ORGANIZATION, Action.CREATE): (
        "INSERT INTO organizations (enterprise, name, created_at) VALUES (?, ?, ?) "
        "ON CONFLICT DO NOTHING"
    ),
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
