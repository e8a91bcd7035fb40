"""A stand-in for the GitHub Copilot CLI that tests put on PATH.

It echoes what it was given (one ``FAKE {json}`` line: argv, cwd, stdin, a
hash of the token, a few environment variables) and obeys ``fake:`` lines in
its prompt, in order:

    fake: stdout TEXT          print TEXT on stdout
    fake: stderr TEXT          print TEXT on stderr
    fake: sleep SECONDS        sleep
    fake: child PIDFILE        start a sleeping child in its process group, write its pid
    fake: escaped-child PIDFILE start a sleeping child in a new session (outside the group)
    fake: exit CODE            exit with CODE now
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

FAKE_VERSION = "1.0.102-fake"

SCRIPT = r"""#!{python}
import hashlib, json, os, subprocess, sys, time

if sys.argv[1:] in (["--version"], ["-v"], ["version"]):
    print("GitHub Copilot CLI {version}.")
    print("Run 'copilot update' to check for updates.")
    sys.exit(0)

prompt = sys.stdin.read()
token = os.environ.get("COPILOT_GITHUB_TOKEN") or os.environ.get("GH_TOKEN") or os.environ.get("GITHUB_TOKEN")
report = {{
    "argv": sys.argv[1:],
    "cwd": os.getcwd(),
    "stdin": prompt,
    "token_sha256": hashlib.sha256(token.encode()).hexdigest() if token else None,
    "env": {{k: os.environ.get(k) for k in ("COPILOT_HOME", "NO_COLOR", "COPILOT_AUTO_UPDATE", "COPILOT_ALLOW_ALL")}},
}}
print("FAKE " + json.dumps(report), flush=True)

def sleeper(new_session):
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"],
                            start_new_session=new_session, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

for line in prompt.splitlines():
    if not line.startswith("fake: "):
        continue
    verb, _, arg = line[len("fake: "):].partition(" ")
    if verb == "stdout":
        print(arg, flush=True)
    elif verb == "stderr":
        print(arg, file=sys.stderr, flush=True)
    elif verb == "sleep":
        time.sleep(float(arg))
    elif verb in ("child", "escaped-child"):
        child = sleeper(verb == "escaped-child")
        with open(arg, "w") as fh:
            fh.write(str(child.pid))
    elif verb == "exit":
        sys.exit(int(arg))
"""


def install_fake_copilot(bin_dir: Path) -> Path:
    """Write the fake ``copilot`` executable into ``bin_dir``; returns its path."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / "copilot"
    path.write_text(SCRIPT.format(python=sys.executable, version=FAKE_VERSION))
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def parse_report(stdout: str) -> dict:
    """The ``FAKE {json}`` line the fake printed."""
    for line in stdout.splitlines():
        if line.startswith("FAKE "):
            return json.loads(line[len("FAKE ") :])
    raise AssertionError(f"no FAKE report in output: {stdout!r}")


def path_with(bin_dir: Path) -> str:
    """PATH with ``bin_dir`` first."""
    return f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
