"""The floors: kit <- stack <- tools <- controlpilot <- cli. No import may point upward.

Walks every module's AST (imports inside functions included, since a lazy import is still a
dependency) and fails naming each upward import.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "python" / "lorapilot"

# Lower number = lower floor. A module may import its own floor or lower ones. The two shells
# sit on top: the CLI may start ControlPilot (`controlpilot serve`); ControlPilot never imports the CLI.
FLOORS = {"kit": 0, "stack": 1, "tools": 2, "controlpilot": 3, "cli": 4}


def _floor_of(dotted: str) -> str | None:
    parts = dotted.split(".")
    if parts[0] != "lorapilot" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in FLOORS else None


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    module = _module_name(path)
    is_package = path.name == "__init__.py"
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # resolve a relative import against this module's package
                base = module.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            if target.count(".") < 2:  # `from lorapilot.tools import tagpilot` names the tool in the alias
                found.extend((node.lineno, f"{target}.{alias.name}") for alias in node.names)
    return found


def upward_imports() -> list[str]:
    """Every import from a lower floor into a higher one, as 'file:line imports module'."""
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        own = _floor_of(_module_name(path))
        if own is None:
            continue
        for lineno, target in _imports(path):
            other = _floor_of(target)
            if other is None or other == own:
                continue
            if FLOORS[other] > FLOORS[own]:
                problems.append(f"{path.relative_to(PACKAGE.parent)}:{lineno} ({own}) imports {target} ({other})")
    return problems


def tools_importing_each_other() -> list[str]:
    """A tool may use another tool's public facade (its package), never its internals."""
    problems = []
    tools_dir = PACKAGE / "tools"
    for path in sorted(tools_dir.rglob("*.py")):
        rel = path.relative_to(tools_dir)
        if len(rel.parts) < 2:
            continue
        own_tool = rel.parts[0]
        for lineno, target in _imports(path):
            parts = target.split(".")
            if parts[:2] != ["lorapilot", "tools"] or len(parts) < 3 or parts[2] == own_tool:
                continue
            if len(parts) > 3 and not parts[3][:1].isupper():
                problems.append(f"tools/{rel}:{lineno} reaches into {target}")
    return problems


def test_no_module_imports_a_higher_floor():
    assert PACKAGE.is_dir()
    assert upward_imports() == []


def test_the_floors_checker_catches_an_upward_import(tmp_path, monkeypatch):
    fake = tmp_path / "lorapilot"
    (fake / "kit").mkdir(parents=True)
    (fake / "kit" / "__init__.py").write_text("")
    (fake / "kit" / "bad.py").write_text("def f():\n    from lorapilot.tools.models import store\n")
    (fake / "stack").mkdir()
    (fake / "stack" / "__init__.py").write_text("")
    (fake / "stack" / "rel.py").write_text("from ..tools import tagpilot\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", fake)
    found = upward_imports()
    assert any("kit/bad.py:2 (kit) imports lorapilot.tools.models" in p for p in found), found
    assert any("stack/rel.py:1 (stack) imports lorapilot.tools" in p for p in found), found


def test_controlpilot_never_imports_the_cli():
    assert [p for p in upward_imports() if p.endswith("(cli)")] == []


def test_a_tool_uses_another_tool_only_through_its_package():
    """TrainPilot may ask the model store for things, through ``lorapilot.tools.models``, not its modules."""
    assert tools_importing_each_other() == []


def test_every_module_lives_on_a_floor():
    loose = [p.name for p in PACKAGE.glob("*.py") if p.name not in {"__init__.py", "__main__.py"}]
    assert loose == []
    packages = sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists())
    assert packages == sorted(FLOORS)
