"""Usage errors, each a :class:`service.errors.ServiceError` so they share the one error shape."""

from __future__ import annotations

from service.errors import ServiceError


class NotFound(ServiceError):
    """The suggestion, ticket, flag or agent does not exist."""

    status_code = 404
    code = "not_found"


class IdempotencyConflict(ServiceError):
    """An idempotency key (event_id, outcome key) reused with a different payload."""

    status_code = 409
    code = "idempotency_conflict"


class Invalid(ServiceError):
    """Well-formed input that does not fit the data: an article not in the suggestion, a mapping that misses."""

    status_code = 422
    code = "validation_error"
