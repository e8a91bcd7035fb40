"""Is this address this machine? One answer, decided from the text alone.

Two kinds of input reach this question, and both get the same rule:

- a *bind host* the operator gives (``--host``, ``[controlpilot] host``): loopback-only binds need no login
  (ControlPilot) or are the only ones allowed (the Copilot sidecar);
- a *name a peer sends* (a request's ``Host`` header): ControlPilot without login answers only requests
  that name this machine, which stops DNS-rebinding pages.

The rule never asks DNS. For a peer's ``Host`` that is essential (a rebinding attacker controls the
answer); for a bind host it errs on the safe side: a name that merely resolves to 127.0.0.1 today counts
as *not* loopback, so ControlPilot asks for a login and the sidecar refuses without ``--force-bind``.
"""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """Whether ``host`` is ``localhost`` or a loopback IP literal (``127.0.0.0/8``, ``::1``, ``[::1]``).

    Case and surrounding spaces are ignored; an IPv6 zone (``::1%lo``) is dropped. No DNS lookup.
    """
    name = host.strip().lower()
    if name == "localhost":
        return True
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    try:
        return ipaddress.ip_address(name.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def host_of(host_header: str) -> str:
    """The host part of an HTTP ``Host`` value: ``127.0.0.1:7878`` → ``127.0.0.1``, ``[::1]:80`` → ``::1``."""
    name = host_header.strip().lower()
    if name.startswith("["):
        return name[1 : name.find("]")] if "]" in name else name
    if name.count(":") == 1:
        return name.rsplit(":", 1)[0]
    return name


def names_this_machine(host_header: str) -> bool:
    """Whether a request's ``Host`` names this machine: a loopback literal, ``localhost`` or ``*.localhost``
    (RFC 6761 reserves the whole ``.localhost`` domain for loopback)."""
    name = host_of(host_header)
    return is_loopback(name) or name.endswith(".localhost")
