"""Where a user reaches the services: the URL on this machine, the address other machines use, and
which secret logs in to each (never the secret itself)."""

from __future__ import annotations

import socket

from lorapilot.stack.plan import ProcessPlan
from lorapilot.stack.workspace.secrets import GENERATED_SECRETS

ALL_INTERFACES = ("0.0.0.0", "::", "")
# Services whose login is not in their component.toml's secret_env.
LOGIN_SECRETS = {"controlpilot": "CONTROLPILOT_PASSWORD"}


def lan_address() -> str | None:
    """This machine's address on its network (the interface of the default route), or None offline.

    A UDP "connect" sends nothing; it only asks the kernel which source address it would use.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed anywhere real
            address = sock.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def reachable_host(bind_host: str) -> str | None:
    """The host other machines open: the LAN address when bound to every interface, the bind address
    when bound to one, None when bound to loopback only."""
    if bind_host in ALL_INTERFACES:
        return lan_address()
    if bind_host in ("127.0.0.1", "localhost", "::1"):
        return None
    return bind_host


def login_secret(plan: ProcessPlan) -> str | None:
    """The secrets.env key that logs in to ``plan``'s service (what to pass to `lorapilot secrets show`)."""
    if plan.name in LOGIN_SECRETS:
        return LOGIN_SECRETS[plan.name]
    return next((key for key in plan.secret_env.values() if key in GENERATED_SECRETS), None)


def reach_note(bind_host: str) -> str:
    """One line on reaching the services from elsewhere."""
    other = reachable_host(bind_host)
    if other is not None:
        return f"from other machines: http://{other}:PORT (ControlPilot asks for its password there)"
    if bind_host in ALL_INTERFACES:
        return "from other machines: this machine's address (no network address found now)"
    return (
        'loopback only: other machines cannot open these; set host = "0.0.0.0" in config/lorapilot.toml '
        "(or use an SSH tunnel)"
    )
