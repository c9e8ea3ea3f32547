"""The application's database role: the services connect as it, never as the schema's owner.

Migrations run as the owner (`DATABASE_URL`). The services use a non-owner role (default
`exchange_app`, created by migration 0006 when missing: roles are cluster-wide) that may read and
write the tables they need but may only INSERT and SELECT audit rows: a compromised service can
add to the audit log, never rewrite it.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit, urlunsplit

from backend.settings import Settings

DEFAULT_APP_ROLE = "exchange_app"

# Tables the role may read and add to but never change: the audit log.
APPEND_ONLY_TABLES = ("audit_log",)
# The chain head is only ever moved forward by record_audit (UPDATE), never created or removed.
UPDATE_ONLY_TABLES = ("audit_chain_head",)

_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def checked_role(name: str) -> str:
    """A role name safe to splice into DDL (lower-case identifier characters only)."""
    if not _ROLE_NAME.match(name):
        raise ValueError(f"not a valid database role name: {name!r} (use [a-z_][a-z0-9_]*)")
    return name


def service_database_url(settings: Settings) -> str:
    """The URL every service process connects with.

    `EXCHANGE_APP_DATABASE_URL` when set; else `DATABASE_URL` with its user replaced by
    `EXCHANGE_DB_APP_USER` (and no password: local trust auth, or a password from PGPASSWORD /
    ~/.pgpass). An empty `EXCHANGE_DB_APP_USER` keeps `DATABASE_URL` as it is.
    """
    if settings.app_database_url:
        return settings.app_database_url
    if not settings.database_url or not settings.db_app_user:
        return settings.database_url
    from backend.db.engine import libpq_url  # engine builds on this module

    parts = urlsplit(libpq_url(settings.database_url))
    host = parts.netloc.rsplit("@", 1)[-1]
    netloc = f"{quote(checked_role(settings.db_app_user), safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def create_role_sql(role: str) -> str:
    """Create the login role unless it exists; a concurrent creator (another database of the
    same cluster migrating at the same moment) is not an error."""
    role = checked_role(role)
    return f"""
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
    CREATE ROLE "{role}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOBYPASSRLS;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END
$$"""


def grant_sql(role: str) -> list[str]:
    """Idempotent grants in the current database (re-applied after every upgrade, so tables of
    later migrations, read models included, are covered even without default privileges)."""
    role = checked_role(role)
    q = f'"{role}"'
    statements = [
        f"DO $$ BEGIN EXECUTE format('GRANT CONNECT ON DATABASE %I TO {q}',"
        " current_database()); END $$",
        f"GRANT USAGE ON SCHEMA public TO {q}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {q}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {q}",
        # Tables created later by the same owner get the same rights.
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public"
        f" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {q}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {q}",
        # Projection rebuilds TRUNCATE their read models (the *_view tables).
        f"""DO $$
DECLARE t text;
BEGIN
  FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE '%\\_view'
  LOOP
    EXECUTE format('GRANT TRUNCATE ON %I TO {q}', t);
  END LOOP;
END
$$""",
        # Migrations are the owner's business.
        f"REVOKE ALL ON TABLE alembic_version FROM {q}",
        f"GRANT SELECT ON TABLE alembic_version TO {q}",
    ]
    for table in APPEND_ONLY_TABLES:
        statements.append(
            f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {table} FROM {q}"
        )
        statements.append(f"GRANT SELECT, INSERT ON {table} TO {q}")
    for table in UPDATE_ONLY_TABLES:
        statements.append(
            f"REVOKE INSERT, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {table} FROM {q}"
        )
        statements.append(f"GRANT SELECT, UPDATE ON {table} TO {q}")
    return statements


def revoke_sql(role: str) -> list[str]:
    """Undo `grant_sql` in the current database. The role itself stays: it is cluster-wide and
    other databases may use it (`DROP ROLE` it by hand once no database grants it anything)."""
    role = checked_role(role)
    q = f'"{role}"'
    return [
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public"
        f" REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM {q}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT ON SEQUENCES FROM {q}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {q}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {q}",
        f"REVOKE ALL ON SCHEMA public FROM {q}",
        f"DO $$ BEGIN EXECUTE format('REVOKE ALL ON DATABASE %I FROM {q}',"
        " current_database()); END $$",
    ]
