"""Service errors and the handlers that give every error one JSON shape.

Shape: ``{"error": {"code": str, "message": str, "details": list | dict | null}}``.

Hierarchy::

    ServiceError            carries HTTP status and a stable code
    ├── Unauthorized        401 missing_api_key / invalid_api_key
    ├── Forbidden           403 forbidden
    └── IndexNotReady       503 index_not_ready: no build loaded yet
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class ServiceError(Exception):
    """An error with an HTTP status and a stable machine-readable code."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code


class Unauthorized(ServiceError):
    """No key or an unknown/revoked key."""

    status_code = 401
    code = "invalid_api_key"


class Forbidden(ServiceError):
    """The key is valid but its role may not do this."""

    status_code = 403
    code = "forbidden"


class IndexNotReady(ServiceError):
    """No index build is loaded."""

    status_code = 503
    code = "index_not_ready"


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The canonical error document."""
    return {"error": {"code": code, "message": message, "details": details}}


HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or "body"


async def _service_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return JSONResponse(error_body(exc.code, exc.message, exc.details), exc.status_code, headers=headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [{"field": _field(e["loc"]), "message": e["msg"], "type": e["type"]} for e in exc.errors()]
    message = "; ".join(f"{d['field']}: {d['message']}" for d in details) or "invalid request"
    return JSONResponse(error_body("validation_error", message, details), 422)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    return JSONResponse(error_body(code, str(exc.detail)), exc.status_code, headers=exc.headers)


def install_handlers(app: FastAPI, *, debug: bool) -> None:
    """Register the handlers that map every error onto :func:`error_body`."""

    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        details = traceback.format_exception(exc) if debug else None
        return JSONResponse(error_body("internal_error", "internal server error", details), 500)

    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, unexpected)
