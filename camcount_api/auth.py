"""Bearer-token check for the data endpoints, whenever a token is configured (always beyond loopback).

The page, its scripts and /docs carry no data and stay public; the page sends the token itself.
"""

from __future__ import annotations

import hmac

from fastapi import Request
from starlette.exceptions import HTTPException

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="camcount"'}


async def require_token(request: Request) -> None:
    token: str | None = request.app.state.config.token
    if token is None:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise HTTPException(401, "missing bearer token (Authorization: Bearer ...)", headers=_CHALLENGE)
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise HTTPException(401, "wrong bearer token", headers=_CHALLENGE)
