"""Reading an HR/CRM export of agents (CSV), columns mapped like ``--csv-map``: ``agent_id=工号,team=组别``."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from service.usage.schemas import AgentId

FIELDS = ("agent_id", "display_name", "team", "active")
TRUE = {"1", "true", "yes", "y", "active", "是", "在职"}
FALSE = {"0", "false", "no", "n", "inactive", "否", "离职"}
_AGENT_ID: TypeAdapter[str] = TypeAdapter(AgentId)


class AgentFileError(ValueError):
    """A bad column map or bad rows; the message lists every problem as ``file:line``."""


@dataclass(frozen=True, slots=True)
class AgentRow:
    """One agent from the file."""

    agent_id: str
    display_name: str | None
    team: str | None
    active: bool


def parse_map(spec: str | None) -> dict[str, str]:
    """``field=column,…`` → mapping; unmapped fields use their own name as the column."""
    mapping = {f: f for f in FIELDS}
    for part in (spec or "").split(","):
        if not part.strip():
            continue
        field, sep, column = (s.strip() for s in part.partition("="))
        if not sep or field not in FIELDS or not column:
            raise AgentFileError(f"--map entry {part!r}: expected FIELD=COLUMN with FIELD one of {', '.join(FIELDS)}")
        mapping[field] = column
    return mapping


def read_agents(path: Path, mapping: dict[str, str]) -> list[AgentRow]:
    """Every row of the file, or an error listing every bad row (nothing is imported then)."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        if mapping["agent_id"] not in (reader.fieldnames or []):
            raise AgentFileError(
                f"{path}:1: no column {mapping['agent_id']!r} for agent_id "
                f"(columns: {', '.join(reader.fieldnames or [])}); map it with --map agent_id=COLUMN"
            )
        rows, problems = [], []
        for record in reader:
            line = reader.line_num

            def cell(field: str, record: dict[str, str] = record) -> str:
                return (record.get(mapping[field]) or "").strip()

            try:
                agent_id = _AGENT_ID.validate_python(cell("agent_id"))
            except ValidationError:
                problems.append(f"{path}:{line}: agent_id {cell('agent_id')!r} is not 1–64 letters, digits or _.@:-")
                continue
            active_text = cell("active").lower()
            if active_text and active_text not in TRUE | FALSE:
                problems.append(f"{path}:{line}: active {cell('active')!r} is not yes/no/true/false/1/0")
                continue
            if len(cell("team")) > 64 or len(cell("display_name")) > 200:
                problems.append(f"{path}:{line}: team is at most 64 and display_name 200 characters")
                continue
            rows.append(
                AgentRow(agent_id, cell("display_name") or None, cell("team") or None, active_text not in FALSE)
            )
    if problems:
        raise AgentFileError("\n".join(problems))
    return rows
