"""Before `lorapilot up`: is every port it is about to listen on free on this machine?

A rented GPU box often runs its own Jupyter on 8888 or a web UI on 7860; a service
that cannot bind its port would only show up later as a crash loop in its log.
"""

from __future__ import annotations

import socket

from lorapilot.kit.errors import ConfigError


def port_free(host: str, port: int) -> bool:
    """Whether a server could listen on ``host:port`` now.

    SO_REUSEADDR, as servers set it: a port held only by connections of a
    just-stopped server (TIME_WAIT) counts as free, a listener does not.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _holder(port: int) -> str:
    """Which process listens on ``port``, when this user may see it."""
    import psutil

    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
                try:
                    return f" by pid {conn.pid} ({psutil.Process(conn.pid).name()})"
                except psutil.Error:
                    return f" by pid {conn.pid}"
    except (psutil.Error, OSError):
        pass
    return ""


def check_ports_free(settings_path, manager_port: int, listeners: list[tuple[str, str, int]]) -> None:
    """Raise :class:`ConfigError` naming the first port something else already listens on.

    ``listeners``: (component name, bind host, port) of each service about to start.
    """
    if not port_free("127.0.0.1", manager_port):
        raise ConfigError(
            settings_path,
            f"manager.port: port {manager_port} (the process manager's API) is already in use on this machine"
            f"{_holder(manager_port)}; stop that program or set [manager] port = ...",
        )
    for name, host, port in listeners:
        if not port_free(host, port):
            raise ConfigError(
                settings_path,
                f"components.{name}.port: port {port} ({name}) is already in use on this machine{_holder(port)}; "
                f"stop that program, or set [components.{name}] port = ... or enabled = false",
            )
