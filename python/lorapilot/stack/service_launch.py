"""Process launcher used by every rendered service definition.

``python -m lorapilot.stack.service_launch [--secrets-file F --secret ENV=KEY ...]
[--path DIR ...] [--wait-http URL ...] -- argv...`` exports the named secrets from
``config/secrets.env`` (so no rendered file holds a secret), puts the
component's own ``bin`` first on PATH (as activating a venv would), optionally waits
for dependencies to answer (supervisord has no ``process_healthy``), then
``exec``s the component, keeping its pid.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

NOT_INSTALLED_EXIT = 127


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lorapilot.stack.service_launch")
    parser.add_argument("--name", default="component")
    parser.add_argument("--secrets-file")
    parser.add_argument("--secret", action="append", default=[], metavar="ENV=KEY")
    parser.add_argument(
        "--path", action="append", default=[], metavar="DIR", help="prepend DIR to PATH (the component's env/bin)"
    )
    parser.add_argument("--wait-http", action="append", default=[], metavar="URL")
    parser.add_argument("--wait-timeout", type=float, default=0, help="seconds; 0 waits forever")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.command and args.command[0] == "--":
        args.command = args.command[1:]
    if not args.command:
        parser.error("no command given after --")
    return args


def _export_secrets(path: str | None, pairs: list[str]) -> None:
    if not pairs:
        return
    from lorapilot.stack.workspace.secrets import read_secrets

    values = read_secrets(Path(path)) if path else {}
    for pair in pairs:
        env_name, _, key = pair.partition("=")
        if key in values and values[key]:
            os.environ[env_name] = values[key]


def _wait(urls: list[str], timeout: float, name: str) -> None:
    deadline = time.monotonic() + timeout if timeout > 0 else None
    for url in urls:
        announced = False
        while True:
            try:
                with urllib.request.urlopen(url, timeout=3) as resp:
                    if resp.status < 400:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if not announced:
                print(f"lorapilot: {name} waits for {url}", flush=True)
                announced = True
            if deadline is not None and time.monotonic() > deadline:
                print(f"lorapilot: {name}: gave up waiting for {url}", file=sys.stderr, flush=True)
                sys.exit(1)
            time.sleep(1)


def main(argv: list[str] | None = None) -> None:
    args = _parse(sys.argv[1:] if argv is None else argv)
    _export_secrets(args.secrets_file, args.secret)
    if args.path:
        # Scripts such as npm's `#!/usr/bin/env node` entry points must find the env's own
        # interpreter (code-server needs its node major), not whatever is first on the system PATH.
        os.environ["PATH"] = os.pathsep.join([*args.path, os.environ.get("PATH", "")])
    _wait(args.wait_http, args.wait_timeout, args.name)
    exe = args.command[0]
    if shutil.which(exe) is None:
        print(
            f"lorapilot: {args.name} is not installed ({exe} not found); run `lorapilot install {args.name}`",
            file=sys.stderr,
            flush=True,
        )
        sys.exit(NOT_INSTALLED_EXIT)
    sys.stdout.flush()
    os.execvp(exe, args.command)


if __name__ == "__main__":
    main()
