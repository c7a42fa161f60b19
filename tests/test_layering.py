"""Imports go one way between domains: a lower domain never imports a higher one."""

import ast
from pathlib import Path

# Lowest first. The audit log sits under everything because every domain writes to it; its
# routes, like every domain's, stand on auth for permissions.
ORDER = ["audit", "auth", "estate", "evidence", "matching", "accounts", "takedowns", "search",
         "reports"]
APP = Path(__file__).resolve().parent.parent / "app"


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_domains_import_only_downwards():
    problems = []
    for rank, domain in enumerate(ORDER):
        folder = APP / domain
        if not folder.is_dir():
            continue
        higher = {f"app.{d}" for d in ORDER[rank + 1:]}
        for path in folder.rglob("*.py"):
            for name in _imports(path):
                if path.name.startswith(("routes", "pages", "api")) and name.startswith("app.auth"):
                    continue
                if any(name == h or name.startswith(h + ".") for h in higher):
                    problems.append(f"{path.relative_to(APP)} imports {name}")
    assert problems == []
