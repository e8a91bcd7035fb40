"""`lorapilot status` keeps its columns for every kind of row; `lorapilot urls` says how other machines
reach the services and which secret logs in to each."""

from __future__ import annotations

import os
import subprocess
import sys

import tomli_w

from lorapilot.cli.service_cmds import STATUS_HEADER, status_row
from lorapilot.stack.services.base import ServiceStatus
from support.workspaces import make_workspace


def _status(**values) -> ServiceStatus:
    base = dict(
        name="x",
        title="X",
        category="tool",
        state="running",
        ready=True,
        port=8888,
        url_path="/",
        installed=True,
        restarts=0,
        uptime_s=65,
        memory_bytes=1 << 20,
    )
    return ServiceStatus(**{**base, **values})


def test_status_rows_line_up_with_the_header_with_or_without_a_port():
    rows = [
        status_row(_status()),
        status_row(_status(port=0, name="post-start")),
        status_row(_status(state="not_installed", installed=False, install_hint="lorapilot install x")).split(
            "   install:"
        )[0],
    ]
    assert {len(row) for row in rows} == {len(STATUS_HEADER)}
    assert rows[1].split()[3] == "-"


def _urls(ctx, host=None):
    if host is not None:
        path = ctx.workspace.config / "lorapilot.toml"
        import tomllib

        data = tomllib.loads(path.read_text())
        data["host"] = host
        path.write_text(tomli_w.dumps(data))
    return subprocess.run(
        [sys.executable, "-m", "lorapilot", "urls", "-w", str(ctx.workspace.root)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "LORAPILOT_MANIFEST": str(ctx.workspace.root / "manifest.json")},
    )


def test_urls_name_the_login_secret_and_the_reachable_address(tmp_path):
    ctx = make_workspace(tmp_path / "ws")
    local = _urls(ctx)
    assert local.returncode == 0, local.stderr
    control = next(line for line in local.stdout.splitlines() if "ControlPilot" in line)
    assert "login: `lorapilot secrets show CONTROLPILOT_PASSWORD`" in control
    assert "loopback only: other machines cannot open these" in local.stdout
    everywhere = _urls(ctx, host="0.0.0.0")
    assert "from other machines: " in everywhere.stdout and "loopback only" not in everywhere.stdout
