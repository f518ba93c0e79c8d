"""Webhook field mapping: a ticket system posts its own body; JSON paths pick kbassist's outcome fields.

A mapping is ``{"fields": {FIELD: JSONPATH}, "values": {FIELD: {VENDOR_VALUE: OUR_VALUE}}}``.
Paths use jsonpath-ng's extended syntax (``$.ticket.status``, ``$.assignees[*].id``).
``status`` must be mapped; every other field is optional. A path that matches nothing in the
posted body is an error naming the path, unless the field is listed in ``"optional"``.
Two example mappings ship with the service (:data:`BUILTIN`) and are documented in docs/usage.md.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jsonpath_ng import JSONPath
from jsonpath_ng.ext.parser import parse

FIELDS = (
    "ticket_id",
    "status",
    "first_contact_resolution",
    "csat",
    "complexity",
    "agent_ids",
    "team",
    "channel",
    "occurred_at",
    "idempotency_key",
)
LIST_FIELDS = ("agent_ids",)

ZENDESK: dict[str, Any] = {
    "fields": {
        "ticket_id": "$.ticket.id",
        "status": "$.ticket.status",
        "csat": "$.ticket.satisfaction.score",
        "complexity": "$.ticket.priority",
        "agent_ids": "$.ticket.assignee.email",
        "team": "$.ticket.group.name",
        "channel": "$.ticket.via",
        "occurred_at": "$.ticket.updated_at",
    },
    "optional": ["csat", "complexity", "team", "channel"],
    "values": {
        "status": {"solved": "resolved", "closed": "closed", "open": "reopened"},
        "csat": {"good": 5, "bad": 1, "offered": None, "unoffered": None},
        "complexity": {"low": "L1", "normal": "L1", "high": "L2", "urgent": "L3"},
        "channel": {"web": "web", "email": "email", "chat": "chat", "voice": "phone"},
    },
}

FRESHDESK: dict[str, Any] = {
    "fields": {
        "ticket_id": "$.freshdesk_webhook.ticket_id",
        "status": "$.freshdesk_webhook.ticket_status",
        "first_contact_resolution": "$.freshdesk_webhook.ticket_cf_fcr",
        "csat": "$.freshdesk_webhook.ticket_cf_csat",
        "complexity": "$.freshdesk_webhook.ticket_cf_escalation_level",
        "agent_ids": "$.freshdesk_webhook.ticket_agent_email",
        "team": "$.freshdesk_webhook.ticket_group_name",
        "channel": "$.freshdesk_webhook.ticket_source",
        "idempotency_key": "$.freshdesk_webhook.triggered_event_id",
    },
    "optional": ["first_contact_resolution", "csat", "complexity", "team", "channel", "idempotency_key"],
    "values": {
        "status": {"Resolved": "resolved", "Closed": "closed", "Open": "reopened", "Reopened": "reopened"},
        "first_contact_resolution": {"Yes": True, "No": False},
        "channel": {"Email": "email", "Portal": "web", "Phone": "phone", "Chat": "chat"},
    },
}

BUILTIN: dict[str, dict[str, Any]] = {"zendesk": ZENDESK, "freshdesk": FRESHDESK}


class MappingError(ValueError):
    """A mapping that is malformed, or a body it does not match; ``path`` names the culprit."""

    def __init__(self, message: str, *, field: str | None = None, path: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.path = path


@dataclass(frozen=True, slots=True)
class FieldMapping:
    """A validated mapping with its paths compiled."""

    name: str
    paths: Mapping[str, tuple[str, JSONPath]]
    optional: frozenset[str]
    values: Mapping[str, Mapping[str, Any]]

    @classmethod
    def compile(cls, name: str, spec: Mapping[str, Any]) -> FieldMapping:
        """Check a mapping spec and compile its paths.

        Raises:
            MappingError: an unknown field, a path that does not parse, or ``status`` unmapped.
        """
        fields = spec.get("fields")
        if not isinstance(fields, Mapping) or "status" not in fields:
            raise MappingError(f"mapping {name!r}: 'fields' must map at least 'status' to a JSON path")
        unknown = sorted(set(fields) - set(FIELDS)) + sorted(set(spec.get("values", {})) - set(FIELDS))
        if unknown:
            raise MappingError(f"mapping {name!r}: unknown field(s) {', '.join(unknown)} (known: {', '.join(FIELDS)})")
        paths = {}
        for field, path in fields.items():
            try:
                paths[field] = (str(path), parse(str(path)))
            except Exception as exc:  # jsonpath-ng raises lexer and parser errors of unrelated types
                raise MappingError(
                    f"mapping {name!r}: field {field}: bad JSON path {path!r}: {exc}", field=field, path=str(path)
                ) from exc
        return cls(name, paths, frozenset(spec.get("optional", ())), spec.get("values", {}))

    def apply(self, body: Any) -> dict[str, Any]:
        """The outcome fields found in ``body`` (a parsed JSON document), vendor values translated.

        Raises:
            MappingError: a required path matches nothing, or a value has no translation.
        """
        result: dict[str, Any] = {}
        for field, (path, compiled) in self.paths.items():
            found = [m.value for m in compiled.find(body) if m.value is not None]
            if not found:
                if field in self.optional:
                    continue
                raise MappingError(
                    f"mapping {self.name!r}: path {path} ({field}) matches nothing in the body", field=field, path=path
                )
            values = [self._translate(field, path, v) for v in found]
            result[field] = values if field in LIST_FIELDS else values[0]
        return {k: v for k, v in result.items() if v is not None and v != [None]}

    def _translate(self, field: str, path: str, value: Any) -> Any:
        table = self.values.get(field)
        if table is None:
            return str(value) if field in ("ticket_id", "agent_ids", "idempotency_key") else value
        key = str(value)
        if key not in table:
            raise MappingError(
                f"mapping {self.name!r}: {field} value {key!r} at {path} is not one of: {', '.join(map(str, table))}",
                field=field,
                path=path,
            )
        return table[key]


def compile_mappings(extra: Mapping[str, Mapping[str, Any]]) -> dict[str, FieldMapping]:
    """The built-in mappings plus configured ones (a configured name replaces a built-in one)."""
    specs = {**BUILTIN, **extra}
    return {name: FieldMapping.compile(name, spec) for name, spec in specs.items()}


def body_hash(ticket_id: str, body: Any) -> str:
    """A stable hash of a posted body: the default idempotency key, so a re-sent webhook stores nothing new."""
    canonical = json.dumps([ticket_id, body], sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
