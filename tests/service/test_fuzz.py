"""Schemathesis against the OpenAPI schema: every operation, every role, schema-valid and schema-invalid requests.

For each role's key (the integration key also names an agent in ``X-Agent-Id``, as it must) and each
operation, two schema-valid requests come first: a role the operation refuses answers 403 to both and
is done. Otherwise ``KB_FUZZ_EXAMPLES`` (default 5) schema-valid and as many schema-invalid requests
are generated (derandomized, so a CI failure reproduces) and sent to the app, on SQLite and PostgreSQL.
Every response must be: no 5xx, a status the operation documents, a body matching the documented
schema, and the schema must state what the server enforces: a schema-valid request is not refused
with 400/422, a schema-invalid one is not accepted. ``KB_FUZZ_EXAMPLES=60`` makes a deeper local run.

A few rules depend on data, on the clock or on two parameters together, and no JSON Schema can state
them; each is named by the ``type`` of its error detail, and a 422 made only of those is the one refusal
of schema-valid data accepted here (see :data:`DATA_RULES`). Everything else the server checks is in
the schema (patterns, enums, ranges, property names).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = int(os.environ.get("KB_FUZZ_EXAMPLES", "5"))
ROLES = ("admin", "editor", "agent", "integration")

# Error-detail types of refusals that depend on stored data or the clock, stated in prose only:
# unknown_value: a reference to something the server does not have (an article of another build, a filter
#   value or channel the build's taxonomy lacks, an outcome mapping that is not configured);
# pii: an identifier the PII masker reads as personal data (a phone or ID number: send an opaque id);
# future_time: a time later than the server's clock;
# mapping_error: a webhook body read through ?mapping=NAME (the schema states kbassist's own shape);
# range: two parameters out of order (a report's since after its until), a relation JSON Schema cannot state.
DATA_RULES = frozenset({"unknown_value", "pii", "future_time", "mapping_error", "range"})
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def refused_for_data(response: Any) -> bool:
    """Whether a 422 names only rules of :data:`DATA_RULES`."""
    if response.status_code != 422:
        return False
    details = response.json()["error"]["details"]
    return isinstance(details, list) and bool(details) and all(d.get("type") in DATA_RULES for d in details)


def fuzz_operation(
    client: TestClient,
    operation: Any,
    mode: GenerationMode,
    headers: dict[str, str],
    examples: int,
    report: Callable[[str], None],
) -> set[int]:
    """Send ``examples`` generated requests for ``operation``, report each distinct failure, return the statuses."""
    seen: set[str] = set()
    statuses: set[int] = set()

    @given(case=operation.as_strategy(generation_mode=mode, headers=headers))
    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        kwargs = case.as_transport_kwargs(base_url="http://testserver")
        sent = {k: v for k, v in kwargs.items() if k in ("method", "url", "headers", "params", "json", "content")}
        response = client.request(**sent)
        statuses.add(response.status_code)
        checks = list(CHECKS)
        if mode is GenerationMode.POSITIVE and not refused_for_data(response):
            checks.append(positive_data_acceptance)
        try:
            case.validate_response(response, checks=checks)
        except BaseException as exc:  # noqa: BLE001 - schemathesis raises a FailureGroup (a BaseExceptionGroup)
            message = str(exc)
            title = message.splitlines()[0] if message else repr(exc)
            if title not in seen:
                seen.add(title)
                report(f"{operation.label} [{mode.value}]: {message[:2000]}")

    try:
        run()
    except Unsatisfiable:  # an operation without parameters or body has nothing to make invalid
        assert mode is GenerationMode.NEGATIVE, operation.label
    return statuses


@pytest.fixture(scope="module")
def operations(client: TestClient) -> list[Any]:
    schema = schemathesis.openapi.from_dict(client.app.openapi())  # type: ignore[attr-defined]
    found = [result.ok() for result in schema.get_all_operations()]
    assert len(found) > 20
    return found


@pytest.mark.parametrize("role", ROLES)
def test_every_operation_keeps_to_its_schema(client: TestClient, make_key, operations, role: str) -> None:
    # The module's client has run the lifespan; this one answers a 500 instead of raising it.
    client = TestClient(client.app, raise_server_exceptions=False)
    headers = {"X-API-Key": make_key(role, "fuzz-agent" if role == "agent" else None)}
    if role == "integration":
        headers["X-Agent-Id"] = "fuzz-agent"
    failures: list[str] = []
    for operation in operations:
        # Two requests first: a role the operation refuses (403 to anything) needs no more.
        if fuzz_operation(client, operation, GenerationMode.POSITIVE, headers, 2, failures.append) == {403}:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            fuzz_operation(client, operation, mode, headers, EXAMPLES, failures.append)
    assert not failures, f"{len(failures)} failure(s):\n\n" + "\n\n".join(failures)
