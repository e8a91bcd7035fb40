"""The registry is the only list of services: no Python code repeats a component's port or launch command."""

import ast

from lorapilot.stack.components import load_registry
from support.workspaces import REPO_ROOT, make_workspace

PACKAGE = REPO_ROOT / "python" / "lorapilot"
# Launch details that belong to one component.toml only.
COMMAND_WORDS = {
    "--server_port",
    "--extra-model-paths-config",
    "invokeai-web",
    "kohya_gui.py",
    "--bind-addr",
    "--IdentityProvider.token",
}


def _constants():
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Constant):
                yield path.relative_to(REPO_ROOT), node.lineno, node.value


def test_no_code_hard_codes_a_component_port():
    ports = {comp.spec.port for comp in load_registry()}
    found = [f"{path}:{line}: {value}" for path, line, value in _constants() if type(value) is int and value in ports]
    assert found == [], "ports belong in components/<name>/component.toml:\n" + "\n".join(found)


def test_no_code_repeats_a_launch_command():
    found = [
        f"{path}:{line}: {value!r}"
        for path, line, value in _constants()
        if isinstance(value, str) and value in COMMAND_WORDS
    ]
    assert found == [], "commands belong in components/<name>/component.toml:\n" + "\n".join(found)


def test_serve_commands_default_to_the_registry_port(tmp_path, monkeypatch):
    """`controlpilot serve` and `copilot serve` without --port take the component's port (user override included)."""
    import uvicorn
    from click.testing import CliRunner

    import lorapilot.tools.copilot.server
    from lorapilot.cli import cli

    ctx = make_workspace(tmp_path / "ws")  # every port overridden with a free one
    bound = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, host, port, **kw: bound.setdefault("controlpilot", port))
    monkeypatch.setattr(
        lorapilot.tools.copilot.server, "serve", lambda service, host, port: bound.setdefault("copilot", port)
    )
    for name in ("controlpilot", "copilot"):
        result = CliRunner().invoke(cli, [name, "serve", "--workspace", str(ctx.workspace.root)])
        assert result.exit_code == 0, result.output
    assert bound == {name: ctx.registry.get(name).port for name in ("controlpilot", "copilot")}
    assert set(bound.values()).isdisjoint({7878, 7879})
