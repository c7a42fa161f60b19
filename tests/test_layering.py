"""Imports go one way between domains, route modules stand alone, files stay small.

Lowest first. The audit log sits under everything because every domain writes to it. The one
crossing allowed: a package's route modules (pages, api) use auth's permission dependencies.
"""

import ast
import re
from pathlib import Path

ORDER = ["audit", "auth", "estate", "evidence", "matching", "accounts", "takedowns",
         "cellsearch", "search", "reports", "lifecycle", "demo"]
APP = Path(__file__).resolve().parent.parent / "app"
ROUTE_MODULE = re.compile(r"^(pages|api)(_[a-z_]+)?\.py$")
# the modules a route module may take from auth: who is asking and what they may do
AUTH_FOR_ROUTES = {"app.auth.deps", "app.auth.guards", "app.auth.permissions"}
MAX_LINES = 400
# file -> why it may be longer than MAX_LINES
LONG_FILES: dict[str, str] = {
    "accounts/handles.py": "one table-driven parser per platform; splitting it would scatter "
                           "the URL rules that are read side by side",
}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def _is_route_module(path: Path) -> bool:
    return bool(ROUTE_MODULE.match(path.name))


def _module_name(path: Path) -> str:
    return "app." + ".".join(path.relative_to(APP).with_suffix("").parts)


def test_domains_import_only_downwards():
    problems = []
    for rank, domain in enumerate(ORDER):
        higher = {f"app.{d}" for d in ORDER[rank + 1:]}
        for path in (APP / domain).rglob("*.py"):
            for name in _imports(path):
                if _is_route_module(path) and any(
                        name == a or name.startswith(a + ".") for a in AUTH_FOR_ROUTES):
                    continue
                if any(name == h or name.startswith(h + ".") for h in higher):
                    problems.append(f"{path.relative_to(APP)} imports {name}")
    assert problems == []


def test_every_domain_is_in_the_order():
    packages = {p.name for p in APP.iterdir() if p.is_dir() and (p / "__init__.py").exists()
                and any(p.glob("models.py"))}
    assert packages <= set(ORDER)


def test_route_modules_never_import_each_other():
    routes = {_module_name(p) for p in APP.rglob("*.py") if _is_route_module(p)}
    problems = [f"{p.relative_to(APP)} imports {name}"
                for p in APP.rglob("*.py") if _is_route_module(p)
                for name in _imports(p) if name in routes]
    assert problems == []


def test_route_files_are_named_one_way():
    """HTML routes in pages.py (or pages_<topic>.py), JSON in api.py (or api_<topic>.py)."""
    odd = [str(p.relative_to(APP)) for p in APP.rglob("*.py")
           if re.search(r"(^routes|_routes\.py$|^views\.py$)", p.name)]
    assert odd == []


def test_files_stay_small():
    long = []
    for path in APP.rglob("*.py"):
        rel = path.relative_to(APP).as_posix()
        lines = len(path.read_text().splitlines())
        if lines > MAX_LINES and rel not in LONG_FILES:
            long.append(f"{rel} ({lines} lines)")
    assert long == []
    for rel in LONG_FILES:  # a listed file that shrank comes off the list
        assert len((APP / rel).read_text().splitlines()) > MAX_LINES, rel
