"""Run Debian's Nix (2.8) against a copy of this flake, offline.

Flakes only see files git tracks, so tests copy the tree (tracked and untracked,
not ignored) into a temporary folder and use a `path:` flake reference. As root
the machine's store is used with build users and the sandbox off (builders then
read the test's own interpreter), whatever /etc/nix says; otherwise a private
store under the temporary folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from support.workspaces import REPO_ROOT

STUBS = REPO_ROOT / "tests" / "nix" / "stubs"
STUB_INPUTS = ("nixpkgs", "pyproject-nix", "uv2nix", "pyproject-build-systems")
FEATURES = ["--extra-experimental-features", "nix-command flakes"]


def nix_available() -> bool:
    return shutil.which("nix") is not None and shutil.which("nix-instantiate") is not None


def copy_tree(dest: Path) -> Path:
    """Copy the checkout's files (as git sees them) to ``dest``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        src = REPO_ROOT / os.fsdecode(name)
        if not src.is_file():
            continue  # deleted in the work tree but still in the index
        target = dest / os.fsdecode(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    return dest


class Flake:
    """A copy of the flake plus the options that make Nix 2.8 work offline here."""

    def __init__(self, root: Path, work: Path):
        self.root = root
        self.options = ["--offline", "--no-write-lock-file", "--option", "substituters", ""]
        # The stub builders run /bin/sh and the host Python: the sandbox must see them (as root too, where
        # Nix sandboxes builds by default; without this only derivations already in the store "built").
        readable = sorted({"/bin", "/lib", "/lib64", "/usr", "/etc", sys.prefix, sys.base_prefix, str(REPO_ROOT)})
        sandbox_paths = ["--option", "sandbox-paths", " ".join(p for p in readable if os.path.exists(p))]
        if os.geteuid() == 0:
            # A fresh machine has Debian's nix-bin with no nix.conf: builds would use `nixbld` users that do not
            # exist and a sandbox without /bin/sh (Debian builds Nix with no sandbox shell). The stub builders run
            # the host's /bin/sh and the test's own interpreter, so root builds as itself, unsandboxed.
            self.options += ["--option", "build-users-group", "", "--option", "sandbox", "false"]
        else:
            self.options += ["--store", str(work / "nix-store"), *sandbox_paths]
        self.overrides: list[str] = []

    @property
    def ref(self) -> str:
        return f"path:{self.root}"

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = ["nix", *FEATURES, *args[:1], *self.options, *self.overrides, *args[1:]]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(cmd[:6])} ... failed:\n{result.stderr[-4000:]}")
        return result

    def eval_json(self, attr: str, apply: str | None = None):
        extra = ["--apply", apply] if apply else []
        return json.loads(self.run("eval", "--json", f"{self.ref}#{attr}", *extra).stdout)

    def build(self, attr: str) -> Path:
        out = json.loads(self.run("build", "--no-link", "--json", f"{self.ref}#{attr}").stdout)
        path = Path(out[0]["outputs"]["out"])
        if "--store" in self.options:
            store_root = Path(self.options[self.options.index("--store") + 1])
            path = store_root / path.relative_to("/")
        return path

    def realise(self, attr: str, apply: str) -> Path:
        """Build the derivation that ``apply`` picks out of ``attr`` (values no output names)."""
        drv = self.run("eval", "--raw", f"{self.ref}#{attr}", "--apply", f"x: (({apply}) x).drvPath").stdout.strip()
        opts = self.options
        settings = "\n".join(f"{opts[i + 1]} = {opts[i + 2]}" for i, o in enumerate(opts) if o == "--option")
        store = ["--store", opts[opts.index("--store") + 1]] if "--store" in opts else []
        result = subprocess.run(
            ["nix-store", *store, "--realise", drv],
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "NIX_CONFIG": settings},
        )
        if result.returncode != 0:
            raise AssertionError(f"nix-store --realise {drv} failed:\n{result.stderr[-4000:]}")
        path = Path(result.stdout.strip().splitlines()[-1])
        return Path(store[1]) / path.relative_to("/") if store else path

    def use_stubs(self, sources_dir: Path) -> dict[str, Path]:
        """Swap every input for a stub: tests/nix/stubs/* and one folder per source input.

        Returns the stub source folder of each source input (each holds a file
        STUB_SOURCE naming its input, so wiring mistakes show).
        """
        stubs = self.root / "tests" / "nix" / "stubs"
        (stubs / "nixpkgs" / "host.json").write_text(json.dumps({"python": sys.executable}))
        for name in STUB_INPUTS:
            self.overrides += ["--override-input", name, f"path:{stubs / name}"]
        lock = json.loads((self.root / "flake.lock").read_text())
        sources = {}
        for name, node in lock["nodes"].items():
            if node.get("flake") is False:
                folder = sources_dir / name
                folder.mkdir(parents=True, exist_ok=True)
                (folder / "STUB_SOURCE").write_text(name)
                sources[name] = folder
                self.overrides += ["--override-input", name, f"path:{folder}"]
        return sources
