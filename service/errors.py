"""Service errors and the handlers that give every error one JSON shape.

Shape: ``{"error": {"code": str, "message": str, "details": list | dict | null}}``.
:data:`ERROR_CODES` is the one list of codes (docs/api.md is written from it);
:func:`error_body` refuses any other, so a new code cannot ship undocumented.

Hierarchy::

    ServiceError            carries HTTP status and a stable code
    ├── Unauthorized        401 missing_api_key / invalid_api_key
    ├── Forbidden           403 forbidden
    ├── NotFound            404 not_found: the named resource (suggestion, ticket, flag, agent, article) does not exist
    ├── IdempotencyConflict 409 idempotency_conflict: an idempotency key reused with a different payload
    ├── InsufficientPoints  409 insufficient_points: a redemption or debit larger than the agent's balance
    ├── InvalidInput        422 validation_error: a rule the schema cannot express
    ├── PayloadTooLarge     413 payload_too_large
    ├── RateLimited         429 rate_limited (with Retry-After)
    ├── IndexNotReady       503 index_not_ready: no build loaded yet
    └── DatabaseUnavailable 503 database_unavailable: a write the answer depends on could not reach the database
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.headers import SECURITY_HEADERS

log = logging.getLogger(__name__)

ERROR_CODES: dict[str, str] = {
    "invalid_json": "400: the body is not JSON: malformed or truncated (details give line and column), "
    "not UTF-8, or nested too deeply.",
    "bad_request": "400: the request is not well-formed HTTP.",
    "missing_api_key": "401: no X-API-Key or Authorization: Bearer header.",
    "invalid_api_key": "401: the key is unknown or revoked.",
    "forbidden": "403: the key's role may not do this, or the key may not act for the X-Agent-Id it names.",
    "not_found": "404: no such route, or the resource it names does not exist.",
    "method_not_allowed": "405: the route does not take this method.",
    "idempotency_conflict": "409: the idempotency key (event_id, outcome key) was used before with another payload.",
    "insufficient_points": "409: a redemption or negative adjustment is larger than the agent's balance.",
    "request_timeout": "408: the request head did not arrive within KB_HEADER_TIMEOUT seconds.",
    "payload_too_large": "413: the body is larger than KB_MAX_BODY_BYTES.",
    "validation_error": "422: a field is missing or invalid; details name each field.",
    "rate_limited": "429: the key made more requests than KB_RATE_LIMIT allows; Retry-After gives the seconds to wait.",
    "headers_too_large": "431: the request line and headers are larger than KB_MAX_HEADER_BYTES.",
    "internal_error": "500: a bug; the log has the traceback.",
    "index_not_ready": "503: no index build is loaded yet.",
    "database_unavailable": "503: the database could not be reached to record the request (nothing was recorded); "
    "retry.",
}

HTTP_CODES = {
    400: "bad_request",
    401: "invalid_api_key",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "payload_too_large",
    422: "validation_error",
    431: "headers_too_large",
    503: "index_not_ready",
}


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


class NotFound(ServiceError):
    """The suggestion, ticket, flag, agent or article a request names does not exist."""

    status_code = 404
    code = "not_found"


class IdempotencyConflict(ServiceError):
    """An idempotency key reused with a different payload (a retry must repeat the first request)."""

    status_code = 409
    code = "idempotency_conflict"


class RateLimited(ServiceError):
    """The key is over its request rate; ``retry_after`` seconds until one is admitted again."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, details={"retry_after": retry_after})
        self.retry_after = retry_after


class InsufficientPoints(ServiceError):
    """A debit the agent's balance does not cover (a balance never goes negative)."""

    status_code = 409
    code = "insufficient_points"


class InvalidInput(ServiceError):
    """A request that parses but breaks a rule needing more than the schema (details: field, message, type)."""

    status_code = 422
    code = "validation_error"


class PayloadTooLarge(ServiceError):
    """The body is over the configured limit."""

    status_code = 413
    code = "payload_too_large"


class IndexNotReady(ServiceError):
    """No index build is loaded."""

    status_code = 503
    code = "index_not_ready"


class DatabaseUnavailable(ServiceError):
    """The database could not be reached to record what the answer promises is recorded (e.g. a suggestion row)."""

    status_code = 503
    code = "database_unavailable"


class ErrorDetail(BaseModel):
    """The ``error`` object: a stable ``code`` from :data:`ERROR_CODES`, a message for people, details for code."""

    code: str = Field(description="One of the documented codes (docs/api.md).")
    message: str
    details: Any = None


class ErrorPublic(BaseModel):
    """Every error answer of the API."""

    error: ErrorDetail


def error_responses() -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for every status an API route may answer with an error (one shape, documented codes)."""
    by_status: dict[int, list[str]] = {}
    for code, text in ERROR_CODES.items():
        by_status.setdefault(int(text.split(":", 1)[0]), []).append(code)
    return {
        status: {"model": ErrorPublic, "description": "error codes: " + ", ".join(codes)}
        for status, codes in sorted(by_status.items())
    }


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The canonical error document.

    Raises:
        ValueError: ``code`` is not in :data:`ERROR_CODES`.
    """
    if code not in ERROR_CODES:
        raise ValueError(f"undocumented error code {code!r}: add it to service.errors.ERROR_CODES")
    return {"error": {"code": code, "message": message, "details": details}}


def error_response(exc: ServiceError, *, close: bool = False) -> JSONResponse:
    """``exc`` as a response; ``close`` ends the connection (the body was left unread)."""
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
    if close:
        headers["Connection"] = "close"
    return JSONResponse(error_body(exc.code, exc.message, exc.details), exc.status_code, headers=headers)


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def _json_position(doc: Any, pos: int) -> str:
    text = doc.decode("utf-8", "replace") if isinstance(doc, bytes) else str(doc)
    line = text.count("\n", 0, pos) + 1
    return f"line {line} column {pos - (text.rfind(chr(10), 0, pos) + 1) + 1}"


async def _service_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return error_response(exc)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if errors and errors[0]["type"] == "json_invalid":
        pos = errors[0]["loc"][-1] if isinstance(errors[0]["loc"][-1], int) else 0
        where = _json_position(exc.body, pos)
        reason = str(errors[0].get("ctx", {}).get("error", errors[0]["msg"])).removesuffix(" at")
        details = [{"field": "body", "message": f"{reason} at {where}", "type": "json_invalid"}]
        return JSONResponse(error_body("invalid_json", f"invalid JSON: {reason} at {where}", details), 400)
    details = [
        {"field": _field(e["loc"]), "message": e["msg"].removeprefix("Value error, "), "type": e["type"]}
        for e in errors
    ]
    message = "; ".join(f"{d['field']}: {d['message']}" for d in details) or "invalid request"
    return JSONResponse(error_body("validation_error", message, details), 422)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, "bad_request" if exc.status_code < 500 else "internal_error")
    message = str(exc.detail)
    # FastAPI turns every failure to read a JSON body other than a syntax error into this 400.
    cause = exc.__cause__
    if exc.status_code == 400 and isinstance(cause, UnicodeDecodeError):
        code, message = "invalid_json", f"the body is not valid UTF-8 (byte {cause.start})"
    elif exc.status_code == 400 and isinstance(cause, RecursionError):
        code, message = "invalid_json", "the body is nested too deeply"
    elif exc.status_code == 400 and isinstance(cause, ValueError):
        code, message = "invalid_json", f"the body is not JSON: {cause}"
    return JSONResponse(error_body(code, message), exc.status_code, headers=exc.headers)


def install_handlers(app: FastAPI, *, debug: bool) -> None:
    """Register the handlers that map every error onto :func:`error_body`."""

    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        details = traceback.format_exception(exc) if debug else None
        # Outside every middleware (Starlette's ServerErrorMiddleware): add the security headers here.
        body = error_body("internal_error", "internal server error", details)
        return JSONResponse(body, 500, headers=SECURITY_HEADERS)

    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, unexpected)
