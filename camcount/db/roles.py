"""Login for the read-only BI role `camcount_bi`.

Migration 0010 creates the role without LOGIN because SQL migrations cannot read secrets, and
secrets only come from the environment: this step runs after migrating and enables the login
with the password in `CAMCOUNT_BI_PASSWORD`.
"""

import os

import psycopg
from psycopg import sql

from camcount.errors import DatabaseError

BI_ROLE = "camcount_bi"
BI_PASSWORD_ENV = "CAMCOUNT_BI_PASSWORD"


def ensure_bi_login(conn: psycopg.Connection) -> bool:
    """Enable LOGIN for camcount_bi with the password from CAMCOUNT_BI_PASSWORD; returns whether
    it did. Without the variable the role is left as it is, so a later `migrate` run without it
    does not lock BI users out.

    The password is sent as a SCRAM verifier computed here, so it never appears in the server's
    statement log.
    """
    password = os.environ.get(BI_PASSWORD_ENV)
    if not password:
        return False
    verifier = conn.pgconn.encrypt_password(password.encode(), BI_ROLE.encode(), b"scram-sha-256").decode()
    statement = sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(BI_ROLE), sql.Literal(verifier))
    try:
        conn.execute(statement)
    except psycopg.errors.InsufficientPrivilege:
        raise DatabaseError(
            f"cannot enable the {BI_ROLE} login: the camcount database user may not alter roles; "
            f"run `ALTER ROLE {BI_ROLE} LOGIN PASSWORD '...'` as an administrator, or grant CREATEROLE"
        ) from None
    except psycopg.errors.UndefinedObject:
        raise DatabaseError(f"role {BI_ROLE} does not exist; run `camcount db migrate` first") from None
    return True
