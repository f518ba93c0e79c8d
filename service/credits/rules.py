"""The rules file: YAML, validated at load with file:line errors, versioned by the hash of its bytes.

A rules file that does not parse, names an unknown rule or parameter, or gives a point value that
is not a non-negative integer is refused as a whole (:class:`RulesError`), so the service does not
start on it and ``kbassist credits sync`` writes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

DEFAULT_RULES = "rules.yaml"
CAP = "daily_cap"
# Each rule id and the parameters it takes (besides daily_cap).
SPEC: dict[str, tuple[str, ...]] = {
    "article_published": ("points",),
    "article_updated": ("points_per_100_chars", "min_change_chars", "max_points"),
    "gap_article": ("points",),
    "citation": ("points",),
    "helpful_vote": ("points",),
    "flag_confirmed": ("points",),
    "flag_fixed": ("points",),
    "csat": ("points_by_score",),
    "complex_issue": ("points_by_level",),
}
# Entries that no rules-file rule produces (their rule id is fixed).
MANUAL = "manual_adjustment"
REDEMPTION = "redemption"
# Parameters a rule no longer takes, with what replaced them (an old rules file gets told why it is refused).
RETIRED = {
    ("gap_article", "tag"): "the bonus now needs a recorded gap named by the article's `gap:` front matter "
    "(docs/credits.md); delete the line",
}
MAP_KEYS: dict[str, tuple[Any, ...]] = {"points_by_score": (1, 2, 3, 4, 5), "points_by_level": ("L1", "L2", "L3")}


class RulesError(ValueError):
    """The rules file is unreadable or invalid; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: its id, parameters and daily cap (0 = none)."""

    id: str
    params: dict[str, Any]
    daily_cap: int = 0

    @property
    def points(self) -> int:
        """The flat points of a rule that has them (0 otherwise)."""
        value = self.params.get("points", 0)
        return int(value)


@dataclass(frozen=True, slots=True)
class Rules:
    """A loaded rules file."""

    source: str
    version: str
    rules: dict[str, Rule] = field(default_factory=dict)

    def get(self, rule_id: str) -> Rule | None:
        """The rule, or None when the file leaves it out (it then earns nothing)."""
        return self.rules.get(rule_id)


def default_rules_text() -> bytes:
    """The rules shipped with the package."""
    return resources.files("service.credits").joinpath(DEFAULT_RULES).read_bytes()


def load_rules(path: Path | None = None) -> Rules:
    """Load and validate ``path`` (None: the packaged default).

    Raises:
        RulesError: unreadable, not YAML, or invalid; the message gives ``file:line``.
    """
    if path is None:
        return parse_rules(default_rules_text(), f"service/credits/{DEFAULT_RULES}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RulesError(f"{path}: cannot read the rules file: {exc.strerror}") from exc
    return parse_rules(data, str(path))


def _where(source: str, node: yaml.Node) -> str:
    return f"{source}:{node.start_mark.line + 1}"


def _integer(source: str, node: yaml.Node, name: str) -> int:
    value = yaml.safe_load(yaml.serialize(node)) if isinstance(node, yaml.ScalarNode) else None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise RulesError(f"{_where(source, node)}: {name} must be a non-negative integer, got {node_text(node)!r}")
    return value


def node_text(node: yaml.Node) -> str:
    """A node's text for a message."""
    return str(node.value) if isinstance(node, yaml.ScalarNode) else type(node).__name__


def _mapping(source: str, node: yaml.Node, what: str) -> list[tuple[yaml.Node, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        raise RulesError(f"{_where(source, node)}: {what} must be a mapping")
    return list(node.value)


def _rule(source: str, rule_id: str, node: yaml.Node) -> Rule:
    params: dict[str, Any] = {}
    cap = 0
    for key, value in _mapping(source, node, f"rule {rule_id}"):
        name = str(key.value)
        if name == CAP:
            cap = _integer(source, value, f"{rule_id}.{name}")
        elif name not in SPEC[rule_id]:
            known = ", ".join((*SPEC[rule_id], CAP))
            why = RETIRED.get((rule_id, name), f"known: {known}")
            raise RulesError(f"{_where(source, key)}: rule {rule_id} has no parameter {name!r} ({why})")
        elif name in MAP_KEYS:
            table: dict[Any, int] = {}
            for k, v in _mapping(source, value, f"{rule_id}.{name}"):
                parsed = yaml.safe_load(yaml.serialize(k))
                if parsed not in MAP_KEYS[name]:
                    allowed = ", ".join(map(str, MAP_KEYS[name]))
                    raise RulesError(f"{_where(source, k)}: {rule_id}.{name} key {k.value!r} is not one of {allowed}")
                table[parsed] = _integer(source, v, f"{rule_id}.{name}.{k.value}")
            params[name] = table
        else:
            params[name] = _integer(source, value, f"{rule_id}.{name}")
    missing = [p for p in SPEC[rule_id] if p not in params]
    if missing:
        raise RulesError(f"{_where(source, node)}: rule {rule_id} misses {', '.join(missing)}")
    return Rule(rule_id, params, cap)


def parse_rules(data: bytes, source: str) -> Rules:
    """Validate a rules document (see :func:`load_rules`)."""
    try:
        root = yaml.compose(data.decode("utf-8"), Loader=yaml.SafeLoader)
    except UnicodeDecodeError as exc:
        raise RulesError(f"{source}: not UTF-8 (byte {exc.start})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise RulesError(f"{source}{line}: not valid YAML: {problem}") from exc
    if root is None:
        raise RulesError(f"{source}:1: empty rules file (expected a 'rules:' mapping)")
    top = _mapping(source, root, "the rules file")
    rules: dict[str, Rule] = {}
    for key, value in top:
        if key.value != "rules":
            raise RulesError(f"{_where(source, key)}: unknown top-level key {key.value!r} (expected 'rules')")
        for rule_key, rule_node in _mapping(source, value, "rules"):
            rule_id = str(rule_key.value)
            if rule_id not in SPEC:
                raise RulesError(f"{_where(source, rule_key)}: unknown rule {rule_id!r} (known: {', '.join(SPEC)})")
            if rule_id in rules:
                raise RulesError(f"{_where(source, rule_key)}: rule {rule_id} is given twice")
            rules[rule_id] = _rule(source, rule_id, rule_node)
    return Rules(source, hashlib.sha256(data).hexdigest()[:16], rules)
