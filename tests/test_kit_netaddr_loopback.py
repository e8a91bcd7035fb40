"""One meaning of "loopback" (``lorapilot.kit.netaddr``) for ControlPilot's login rule and the Copilot sidecar.

Before, ``controlpilot/auth.py`` decided from the text while ``copilot/server.py`` asked DNS: a name that
resolved to 127.0.0.1 was accepted as a sidecar bind host without ``--force-bind``, yet made ControlPilot
ask for a login. Now neither asks DNS, and both callers agree on every host.
"""

from __future__ import annotations

import socket

import pytest

from lorapilot.controlpilot.auth import Authenticator
from lorapilot.kit.netaddr import host_of, is_loopback, names_this_machine
from lorapilot.stack.settings import ControlPilotSettings
from lorapilot.tools.copilot.server import BindRefused, check_bind_host
from support.workspaces import make_workspace

LOOPBACK = ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost", "LOCALHOST", " 127.0.0.1 ", "::1%lo"]
NOT_LOOPBACK = [
    "0.0.0.0",
    "::",
    "10.1.2.3",
    "192.168.0.1",
    "example.invalid",
    "rebind.example",
    "",
    "127.0.0.1.evil.example",
    "[::2]",
    "localhost.evil.example",
]


@pytest.fixture
def dns_points_everything_at_loopback(monkeypatch):
    """A resolver that answers 127.0.0.1 for any name: what a DNS-rebinding attacker controls."""
    calls = []

    def fake_getaddrinfo(host, *args, **kwargs):
        calls.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 0))]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    return calls


@pytest.mark.parametrize("host", LOOPBACK)
def test_loopback_literals_and_localhost(host):
    assert is_loopback(host)


@pytest.mark.parametrize("host", NOT_LOOPBACK)
def test_everything_else_is_not_loopback_whatever_dns_says(host, dns_points_everything_at_loopback):
    assert not is_loopback(host)
    assert dns_points_everything_at_loopback == []  # decided from the text alone


@pytest.mark.parametrize("host", LOOPBACK + NOT_LOOPBACK)
def test_controlpilot_and_the_sidecar_agree_on_every_bind_host(host, tmp_path, dns_points_everything_at_loopback):
    ctx = make_workspace(tmp_path / "ws")
    login_required = Authenticator(ctx.workspace, ControlPilotSettings(), host).required
    try:
        check_bind_host(host)
        sidecar_allowed = True
    except BindRefused:
        sidecar_allowed = False
    assert login_required is not sidecar_allowed
    check_bind_host(host, force=True)  # --force-bind still overrides


@pytest.mark.parametrize(
    ("header", "host"),
    [
        ("127.0.0.1:7878", "127.0.0.1"),
        ("[::1]:7878", "::1"),
        ("[::1]", "::1"),
        ("Localhost", "localhost"),
        ("::1", "::1"),
        ("app.localhost:80", "app.localhost"),
    ],
)
def test_host_header_parsing(header, host):
    assert host_of(header) == host


def test_a_host_header_names_this_machine_only_by_a_local_name(dns_points_everything_at_loopback):
    for header in ("localhost", "localhost:7878", "127.0.0.1:7878", "[::1]:7878", "app.localhost:7878"):
        assert names_this_machine(header), header
    for header in ("evil.example", "evil.example:7878", "127.0.0.1.evil.example", "192.168.1.5:7878", "[::2]", ""):
        assert not names_this_machine(header), header
    assert dns_points_everything_at_loopback == []
