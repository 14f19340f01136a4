"""Logins for camcount's least-privilege roles (docs/security.md, "Roles").

Migrations 0010, 0020 and 0040 create the roles without LOGIN because SQL migrations cannot read
secrets, and secrets only come from the environment: this step runs after migrating and enables
each role's login with the password in its variable (`LOGIN_ROLES`).
"""

import os

import psycopg
from psycopg import sql

from camcount.errors import DatabaseError

BI_ROLE = "camcount_bi"
BI_PASSWORD_ENV = "CAMCOUNT_BI_PASSWORD"
WORKER_ROLE = "camcount_worker"
WORKER_PASSWORD_ENV = "CAMCOUNT_WORKER_PASSWORD"
PIPELINES_ROLE = "camcount_pipelines"
PIPELINES_PASSWORD_ENV = "CAMCOUNT_PIPELINES_PASSWORD"
API_ROLE = "camcount_api"
API_PASSWORD_ENV = "CAMCOUNT_API_PASSWORD"

LOGIN_ROLES = {BI_ROLE: BI_PASSWORD_ENV, WORKER_ROLE: WORKER_PASSWORD_ENV, PIPELINES_ROLE: PIPELINES_PASSWORD_ENV,
               API_ROLE: API_PASSWORD_ENV}


def ensure_login(conn: psycopg.Connection, role: str, password_env: str) -> bool:
    """Enable LOGIN for `role` with the password from `password_env`; returns whether it did.
    Without the variable the role is left as it is, so a later `migrate` run without it does not
    lock that role's users out.

    The password is sent as a SCRAM verifier computed here, so it never appears in the server's
    statement log.
    """
    password = os.environ.get(password_env)
    if not password:
        return False
    verifier = conn.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256").decode()
    statement = sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(verifier))
    try:
        conn.execute(statement)
    except psycopg.errors.InsufficientPrivilege:
        raise DatabaseError(
            f"cannot enable the {role} login: the camcount database user may not alter roles; "
            f"run `ALTER ROLE {role} LOGIN PASSWORD '...'` as an administrator, or grant CREATEROLE"
        ) from None
    except psycopg.errors.UndefinedObject:
        raise DatabaseError(f"role {role} does not exist; run `camcount db migrate` first") from None
    return True


def ensure_logins(conn: psycopg.Connection) -> list[str]:
    """`ensure_login` for every camcount role; returns the roles whose login was set."""
    return [role for role, password_env in LOGIN_ROLES.items() if ensure_login(conn, role, password_env)]


def ensure_bi_login(conn: psycopg.Connection) -> bool:
    """The BI role's login (the dbt tests set it up alone)."""
    return ensure_login(conn, BI_ROLE, BI_PASSWORD_ENV)
