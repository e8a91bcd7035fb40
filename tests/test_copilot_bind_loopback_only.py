"""The sidecar refuses a non-loopback bind address unless it is explicitly forced."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from lorapilot.kit.netaddr import is_loopback
from lorapilot.tools.copilot.server import BindRefused, check_bind_host
from support.copilot_sidecar import running_sidecar
from support.workspaces import free_port, make_workspace


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_hosts_are_accepted(host):
    assert is_loopback(host)
    check_bind_host(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "192.168.0.1", "example.invalid"])
def test_other_hosts_are_refused(host):
    assert not is_loopback(host)
    with pytest.raises(BindRefused, match="--force-bind"):
        check_bind_host(host)
    check_bind_host(host, force=True)


def test_serve_on_all_interfaces_exits_with_a_clear_error(tmp_path):
    ctx = make_workspace(tmp_path / "ws", enabled={"copilot"})
    port = free_port()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lorapilot",
            "copilot",
            "serve",
            "--workspace",
            str(ctx.workspace.root),
            "--host",
            "0.0.0.0",
            "--port",
            str(port),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ.copy(),
    )
    assert result.returncode == 1
    assert "refusing to bind the Copilot sidecar to '0.0.0.0'" in result.stderr
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)


def test_force_bind_serves_anyway_with_a_warning(tmp_path):
    ctx = make_workspace(tmp_path / "ws", enabled={"copilot"})
    with running_sidecar(ctx, args=("--host", "0.0.0.0", "--force-bind")) as sc:
        assert httpx.get(f"{sc.url}/health", timeout=5).json() == {"status": "ok"}
    assert "without authentication (--force-bind)" in sc.log.read_text()
