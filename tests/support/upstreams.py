"""Local stand-ins for upstream projects, so install tests need no network.

- git repositories served from a temporary folder (file:// URLs);
- a pure-Python wheel written by hand (for a tiny uv-locked environment);
- an npm registry on loopback serving one package.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import io
import json
import os
import subprocess
import tarfile
import zipfile
from pathlib import Path

from support.loopback import LoopbackServer, reply

GIT_ENV = {
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env={**os.environ, **GIT_ENV})
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def make_repo(path: Path, commits: list[dict[str, str]]) -> list[str]:
    """A git repository at ``path`` with one commit per {file: text} dict; returns the revs."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    revs = []
    for number, files in enumerate(commits):
        for name, text in files.items():
            (path / name).parent.mkdir(parents=True, exist_ok=True)
            (path / name).write_text(text)
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", f"commit {number}")
        revs.append(git(path, "rev-parse", "HEAD"))
    return revs


def make_wheel(dest: Path, name: str, version: str, module_text: str, requires: tuple[str, ...] = ()) -> Path:
    """A minimal pure-Python wheel (PEP 427) with one module ``name`` (depending on ``requires``)."""
    dist = f"{name}-{version}"
    depends = "".join(f"Requires-Dist: {each}\n" for each in requires)
    files = {
        f"{name}.py": module_text.encode(),
        f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{depends}".encode(),
        f"{dist}.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for file, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{file},sha256={digest},{len(data)}")
    record.append(f"{dist}.dist-info/RECORD,,")
    files[f"{dist}.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = dest / f"{dist}-py3-none-any.whl"
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel, "w") as archive:
        for file, data in files.items():
            archive.writestr(file, data)
    return wheel


class NpmRegistry(LoopbackServer):
    """A read-only npm registry on 127.0.0.1 serving one package with a `bin`."""

    def __init__(self, name: str, version: str, bin_name: str, script: str):
        self.name, self.version = name, version
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            for member, text, mode in (
                (
                    "package/package.json",
                    json.dumps({"name": name, "version": version, "bin": {bin_name: "cli.js"}}),
                    0o644,
                ),
                ("package/cli.js", script, 0o755),
            ):
                data = text.encode()
                info = tarfile.TarInfo(member)
                info.size, info.mode = len(data), mode
                tar.addfile(info, io.BytesIO(data))
        self.tarball = buffer.getvalue()
        self.requests: list[str] = []
        registry = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                registry.requests.append(self.path)
                tarball_path = f"/{name}/-/{name}-{version}.tgz"
                if self.path == tarball_path:
                    body, kind = registry.tarball, "application/octet-stream"
                elif self.path.rstrip("/") == f"/{name}":
                    integrity = "sha512-" + base64.b64encode(hashlib.sha512(registry.tarball).digest()).decode()
                    body = json.dumps(
                        {
                            "name": name,
                            "dist-tags": {"latest": version},
                            "versions": {
                                version: {
                                    "name": name,
                                    "version": version,
                                    "bin": {bin_name: "cli.js"},
                                    "dist": {
                                        "tarball": f"{registry.url}{tarball_path}",
                                        "integrity": integrity,
                                        "shasum": hashlib.sha1(registry.tarball).hexdigest(),
                                    },
                                }
                            },
                        }
                    ).encode()
                    kind = "application/json"
                else:
                    self.send_error(404)
                    return
                reply(self, body, kind)

        self.serve(Handler)


class SimpleIndex(LoopbackServer):
    """A PEP 503 package index on 127.0.0.1 serving the given wheels."""

    def __init__(self, wheels: list[Path]):
        files = {wheel.name: wheel.read_bytes() for wheel in wheels}
        self.requests: list[str] = []
        index = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_HEAD(self):
                self.do_GET(head=True)

            def do_GET(self, head=False):
                index.requests.append(self.path)
                parts = self.path.strip("/").split("/")
                if len(parts) == 2 and parts[0] == "simple":
                    links = "".join(
                        f'<a href="/files/{name}#sha256={hashlib.sha256(data).hexdigest()}">{name}</a>\n'
                        for name, data in files.items()
                        if name.split("-")[0].replace("_", "-") == parts[1]
                    )
                    body, kind = f"<html><body>\n{links}</body></html>\n".encode(), "text/html"
                elif len(parts) == 2 and parts[0] == "files" and parts[1] in files:
                    body, kind = files[parts[1]], "application/octet-stream"
                else:
                    self.send_error(404)
                    return
                reply(self, body, kind, head)

        self.serve(Handler)
