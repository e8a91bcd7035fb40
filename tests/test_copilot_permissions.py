"""Tool permissions are off unless asked for; allow-all needs the server's explicit opt-in."""

from __future__ import annotations

import pytest

from support.copilot_sidecar import running_sidecar
from support.fake_copilot import parse_report
from support.workspaces import make_workspace

ALLOW_ALL_REQUESTS = [
    {"allow_all_tools": True},
    {"allow_all_paths": True},
    {"allow_all_urls": True},
    {"allow_tools": ["shell"]},
    {"allow_tools": ["shell(*)"]},
    {"allow_tools": ["url"]},
    {"allow_tools": ["write", "url( * )"]},
    {"allow_tools": ["url(https://*)"]},
    {"allow_tools": ["url(http://*.*/)"]},
    {"allow_tools": ["shell(**)"]},
    # A shell or an interpreter with a wildcard runs any command (the audit's finding).
    {"allow_tools": ["shell(bash:*)"]},
    {"allow_tools": ["shell(sh:*)"]},
    {"allow_tools": ["shell(python3:*)"]},
    {"allow_tools": ["shell(/usr/bin/python3.12 -c *)"]},
    {"allow_tools": ["write", "shell(env:*)"]},
    {"allow_tools": ["shell(xargs *)"]},
]


@pytest.fixture(scope="module")
def strict(tmp_path_factory):
    ctx = make_workspace(tmp_path_factory.mktemp("strict") / "ws", enabled={"copilot"})
    with running_sidecar(ctx) as sc:
        yield sc


@pytest.fixture(scope="module")
def permissive(tmp_path_factory):
    ctx = make_workspace(tmp_path_factory.mktemp("permissive") / "ws", enabled={"copilot"})
    with running_sidecar(ctx, args=("--permit-allow-all",)) as sc:
        yield sc


@pytest.mark.parametrize("extra", ALLOW_ALL_REQUESTS)
def test_allow_all_is_refused_without_the_opt_in(strict, extra):
    with strict.client() as client:
        resp = client.post("/chat", json={"prompt": "fix it", **extra})
        history = client.get("/history").json()["entries"]
    assert resp.status_code == 403, resp.text
    assert "--permit-allow-all" in resp.json()["detail"]
    assert all(e["prompt"] != "fix it" for e in history), "a refused chat never runs"


def test_status_says_whether_allow_all_is_permitted(strict, permissive):
    with strict.client() as a, permissive.client() as b:
        assert a.get("/status").json()["permit_allow_all"] is False
        assert b.get("/status").json()["permit_allow_all"] is True


def test_specific_patterns_pass_through_one_argument_each(strict):
    body = {
        "prompt": "commit my changes",
        "allow_tools": ["write", "shell(git:*)", "url(github.com)"],
        "deny_tools": ["shell(git push)"],
        "model": "gpt-5",
    }
    with strict.client() as client:
        result = client.post("/chat", json=body).json()
        entry = client.get(f"/history/{result['id']}").json()
    argv = parse_report(result["stdout"])["argv"]
    for arg in (
        "--allow-tool=write",
        "--allow-tool=shell(git:*)",
        "--allow-tool=url(github.com)",
        "--deny-tool=shell(git push)",
        "--model=gpt-5",
    ):
        assert arg in argv
    assert not any(a.startswith("--allow-all") for a in argv)
    assert entry["permissions"]["allow_tools"] == body["allow_tools"]
    assert entry["model"] == "gpt-5"


@pytest.mark.parametrize("pattern", ["--yolo", "shell(git", "bad kind(x)", "", "write\nshell"])
def test_malformed_patterns_are_refused(strict, pattern):
    with strict.client() as client:
        resp = client.post("/chat", json={"prompt": "x", "allow_tools": [pattern]})
    assert resp.status_code == 400
    assert "tool pattern" in resp.json()["detail"]


def test_with_the_opt_in_allow_all_flags_reach_the_cli(permissive):
    body = {
        "prompt": "x",
        "allow_all_tools": True,
        "allow_all_paths": True,
        "allow_all_urls": True,
        "allow_tools": ["shell"],
    }
    with permissive.client() as client:
        resp = client.post("/chat", json=body)
    assert resp.status_code == 200, resp.text
    argv = parse_report(resp.json()["stdout"])["argv"]
    assert {"--allow-all-tools", "--allow-all-paths", "--allow-all-urls", "--allow-tool=shell"} <= set(argv)


def test_the_opt_in_can_come_from_the_settings_file(tmp_path):
    ctx = make_workspace(tmp_path / "ws", enabled={"copilot"}, settings={"copilot": {"permit_allow_all": True}})
    with running_sidecar(ctx) as sc, sc.client() as client:
        assert client.get("/status").json()["permit_allow_all"] is True
        assert client.post("/chat", json={"prompt": "x", "allow_all_urls": True}).status_code == 200


def test_copilot_allow_all_in_the_service_environment_never_reaches_the_cli(tmp_path):
    # The real CLI reads COPILOT_ALLOW_ALL as --allow-all-tools ("true" also trusts the folder's hooks):
    # inherited from the service's environment it would bypass the opt-in.
    ctx = make_workspace(tmp_path / "ws", enabled={"copilot"})
    with running_sidecar(ctx, env={"COPILOT_ALLOW_ALL": "true"}) as sidecar, sidecar.client() as client:
        result = client.post("/chat", json={"prompt": "hello"}).json()
    report = parse_report(result["stdout"])
    assert report["env"]["COPILOT_ALLOW_ALL"] is None
    assert not any(a.startswith("--allow-all") for a in report["argv"])
