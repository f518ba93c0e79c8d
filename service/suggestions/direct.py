"""The suggest route's handler: valid requests skip FastAPI's dependency solver.

Resolving the route's seven dependencies (principal, agent header, retriever, masker,
writer, settings, batcher), each an ``await`` through FastAPI's solver, cost more CPU
than PII masking and fusion together in a profile of 8 busy clients. Every one of them
is a lookup on ``app.state`` or the principal :class:`service.guard.RequestGuard` left in
the scope, so :class:`SuggestRoute` does those lookups itself when the request is plain:
a known key acting as itself (no ``X-Agent-Id``), a JSON body that validates. Anything
else (an integration key, an agent header, a body that does not validate, no principal in
the scope) goes through the solver as before, so its errors keep their fields and shapes.
The body is validated exactly as FastAPI does it (``json.loads``, then the model).

The handler also brackets each request with :meth:`service.batcher.SearchBatcher.admitted`,
on both paths, so the batcher knows how many requests are in the route at once.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

from service.batcher import SearchBatcher
from service.deps import get_batcher, get_holder, get_masker, get_retriever, get_settings, get_writer
from service.guard import PRINCIPAL
from service.keys.auth import Principal
from service.keys.models import ROLES

Handler = Callable[[Request], Coroutine[Any, Any, Response]]

# Each parameter the endpoint may declare, and the dependency that provides it (called without the solver).
_PROVIDERS: dict[str, Callable[[Request], Coroutine[Any, Any, Any]]] = {
    "settings": get_settings,
    "masker": get_masker,
    "writer": get_writer,
    "batcher": get_batcher,
}


class SuggestRoute(APIRoute):
    """An ``APIRoute`` whose plain requests call the endpoint with their dependencies looked up directly."""

    def get_route_handler(self) -> Handler:
        solved = super().get_route_handler()
        params = inspect.signature(self.endpoint).parameters
        unknown = set(params) - {"body", "principal", "retriever", *_PROVIDERS}
        if unknown:
            raise TypeError(f"{self.path}: no direct provider for {sorted(unknown)}; add one to _PROVIDERS")
        body_model = params["body"].annotation
        if isinstance(body_model, str):  # postponed annotations: FastAPI has resolved it for the body field
            body_model = self.body_field.field_info.annotation if self.body_field is not None else None
        if not (isinstance(body_model, type) and issubclass(body_model, BaseModel)):
            raise TypeError(f"{self.path}: the body parameter must be a pydantic model")
        model: type[BaseModel] = body_model
        endpoint = self.endpoint

        async def handler(request: Request) -> Response:
            batcher: SearchBatcher = request.app.state.batcher
            with batcher.admitted():
                arguments = await _direct_arguments(request, model)
                if arguments is None:
                    return await solved(request)
                response: Response = await endpoint(**arguments)
                return response

        return handler


async def _direct_arguments(request: Request, model: type[BaseModel]) -> dict[str, Any] | None:
    """The endpoint's arguments for a plain request, or None to go through the solver."""
    principal: Principal | None = request.scope.get(PRINCIPAL)
    if principal is None or principal.role not in ROLES or principal.role == "integration":
        return None
    if "x-agent-id" in request.headers or request.headers.get("content-type") != "application/json":
        return None
    try:
        body = model.model_validate(json.loads(await request.body()))
    except (ValueError, RecursionError, ValidationError):  # JSONDecodeError is a ValueError; the solver words errors
        return None
    limiter = request.app.state.rate_limiter
    if limiter is not None:
        limiter.hit(principal.key_id)
    retriever = await get_retriever(await get_holder(request))
    arguments = {name: await provide(request) for name, provide in _PROVIDERS.items()}
    return {"body": body, "principal": principal, "retriever": retriever, **arguments}
