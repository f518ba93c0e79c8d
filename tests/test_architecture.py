"""The import rules of docs/architecture.md, checked on the source tree.

service → indexer ← eval; the indexer imports neither; only the root CLI assembles commands;
a domain subpackage of the service reads another only in the documented direction.
Every import counts, including those inside functions and under ``TYPE_CHECKING``.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("indexer", "service", "eval")
ROOT_CLI = "service.cli"
# Database-backed domains of the service and the domains each may import (docs/architecture.md).
DOMAINS: dict[str, set[str]] = {
    "keys": set(),
    "suggestions": {"keys"},
    "usage": {"keys", "suggestions"},
    "articles": {"keys"},
    "credits": {"usage", "keys", "suggestions"},
    "dashboard": {"usage", "credits", "keys", "suggestions"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, relative imports resolved, ``from a import b`` counted as ``a`` and ``a.b``."""
    package = module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else module_name(path)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


MODULES = {module_name(p): imports(p) for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def offenders(importer_in: str, imported_in: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{module} imports {name}"
        for module, names in MODULES.items()
        if within(module, importer_in)
        for name in names
        if any(within(name, target) for target in imported_in)
    )


def test_the_tree_is_parsed():
    assert {"indexer.search", "service.main", "eval.run", ROOT_CLI} <= set(MODULES)


@pytest.mark.parametrize(("importer", "forbidden"), [("indexer", ("service", "eval")), ("eval", ("service",))])
def test_imports_point_at_the_indexer_only(importer, forbidden):
    assert offenders(importer, forbidden) == []


def test_only_the_root_cli_imports_a_command_module():
    def is_command_module(name: str) -> bool:
        return name.rsplit(".", 1)[-1] in ("cli", "commands") and name.split(".")[0] in PACKAGES

    bad = sorted(
        f"{module} imports {name}"
        for module, names in MODULES.items()
        if module != ROOT_CLI
        for name in names
        if is_command_module(name) and name != module
    )
    assert bad == []


def test_every_service_subpackage_is_a_known_domain():
    subpackages = {p.parent.name for p in (ROOT / "service").glob("*/__init__.py")}
    assert subpackages - {"migrations"} == set(DOMAINS)


@pytest.mark.parametrize("domain", sorted(DOMAINS))
def test_a_domain_reads_other_domains_only_in_the_documented_direction(domain):
    others = tuple(f"service.{d}" for d in DOMAINS if d != domain and d not in DOMAINS[domain])
    assert offenders(f"service.{domain}", others) == []


def test_building_never_imports_searching():
    """The build folder format has one owner (indexer.layout): the builder checks its work through it."""
    assert offenders("indexer.build", ("indexer.search",)) == []
    assert offenders("indexer.layout", ("indexer.search", "indexer.build")) == []
