"""Every failure as a small JSON error `{"status": ..., "error": ...}`, never a stack trace.

Messages name what was wrong (the parameter, the allowed values) without echoing what was sent:
a hostile string, a token or SQL never comes back in a response. Bad requests are 4xx; a
database that cannot answer is a 503; anything else is a logged 500 that says nothing more.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from camcount.errors import DatabaseError
from camcount_api.models import Error
from camcount_api.views import NotFound

log = logging.getLogger(__name__)


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(Error(status=status, error=message).model_dump(), status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(DatabaseError, _unavailable)
    app.add_exception_handler(Exception, _internal)


async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = []
    for problem in exc.errors():
        where = ".".join(str(part) for part in problem.get("loc", ()) if part not in ("query", "path", "header"))
        problems.append(f"{where or 'request'}: {problem.get('msg', 'invalid')}")  # pydantic's msg never quotes input
    return error(422, "; ".join(problems))


async def _http(request: Request, exc: HTTPException) -> JSONResponse:
    return error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))


async def _not_found(request: Request, exc: Exception) -> JSONResponse:
    return error(404, str(exc))


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    return error(503, "the database is unavailable; try again shortly", {"Retry-After": "5"})


async def _internal(request: Request, exc: Exception) -> JSONResponse:
    log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return error(500, "internal error")
