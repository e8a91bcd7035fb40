"""``scripts/check-envs``: build each locked environment with uv, check its linkage, import its entry
modules and run its apps' ``--help`` — the strongest check of the locks available without Nix.

Downloads gigabytes: not part of the test suite (docs/delivery.md records a run).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

from lorapilot.kit.errors import LorapilotError
from lorapilot.stack.delivery.environments import LockedEnvironment, locked_environments, select, stack_python
from lorapilot.stack.delivery.linkage import SystemLibs
from lorapilot.stack.delivery.linkage_cli import DEFAULT_CACHE, check_one

# What nix/sdist.nix gives deepspeed's build (no nvcc here either).
BUILD_ENV = {"DS_BUILD_OPS": "0", "DS_ACCELERATOR": "cpu", "UV_PYTHON_DOWNLOADS": "never"}


def _uv() -> str:
    found = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    if not os.access(found, os.X_OK):
        raise LorapilotError("uv is not installed (pip install uv)")
    return found


def build(env: LockedEnvironment, python: str, target: Path, uv_cache: Path) -> subprocess.CompletedProcess:
    """`uv sync --frozen` of the environment's lock into ``target`` (hard links from ``uv_cache``)."""
    cmd = [_uv(), "sync", "--frozen", "--no-install-project", "--python", f"python{python}", "--link-mode", "hardlink"]
    cmd += [arg for extra in (env.extras or []) for arg in ("--extra", extra)]
    return subprocess.run(
        cmd,
        cwd=env.project,
        capture_output=True,
        text=True,
        env={**os.environ, **BUILD_ENV, "UV_PROJECT_ENVIRONMENT": str(target), "UV_CACHE_DIR": str(uv_cache)},
    )


def upstream_tree(sources: Path | None, prefix: str | None, workdir: Path) -> Path | None:
    """The upstream tree extracted from ``sources/<prefix>-<rev>.tar.gz`` (None without one)."""
    if not sources or not prefix:
        return None
    pattern = re.compile(rf"{re.escape(prefix)}-[0-9a-f]{{7,40}}\.tar\.gz")
    archives = sorted(a for a in sources.glob(f"{prefix}-*.tar.gz") if pattern.fullmatch(a.name))
    if not archives:
        return None
    dest = workdir / prefix
    if not dest.exists():
        with tarfile.open(archives[0]) as tar:
            tar.extractall(workdir / f".{prefix}", filter="data")
        (workdir / f".{prefix}" / prefix).rename(dest)
    return dest


def run_checks(env: LockedEnvironment, venv: Path, spec: dict, src: Path | None, repo: Path) -> list[str]:
    """Failures (empty: all passed), each a line naming the check."""
    python = venv / "bin" / "python"
    run_env = {
        **os.environ,
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "CUDA_VISIBLE_DEVICES": "",
    }
    run_env.pop("PYTHONPATH", None)
    if env.name == "lorapilot-train":
        run_env["PYTHONPATH"] = str(repo / "python")
    failures = []
    for module in spec.get("imports", []):
        done = subprocess.run(
            [str(python), "-c", f"import {module}"], capture_output=True, text=True, env=run_env, timeout=600
        )
        print(f"  import {module}: {'ok' if done.returncode == 0 else 'FAILED'}")
        if done.returncode:
            failures.append(
                f"import {module}: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}"
            )
    for argv in spec.get("commands", []):
        if any("{src}" in a for a in argv) and src is None:
            print(f"  {' '.join(argv)}: skipped (no upstream tree; pass --sources)")
            continue
        argv = [a.replace("{python}", str(python)).replace("{src}", str(src)) for a in argv]
        done = subprocess.run(argv, capture_output=True, text=True, env=run_env, timeout=600, cwd=src or venv)
        shown = " ".join(
            a.replace(str(src), "<src>").replace(str(python), "python") if src else a.replace(str(python), "python")
            for a in argv
        )
        print(f"  {shown}: {'ok' if done.returncode == 0 else 'FAILED'}")
        if done.returncode:
            tail = (done.stderr or done.stdout).strip().splitlines()
            failures.append(f"{shown}: {tail[-1] if tail else done.returncode}")
    return failures


def main(argv: list[str] | None = None, repo: Path | None = None) -> int:
    parser = argparse.ArgumentParser(prog="check-envs", description=__doc__)
    parser.add_argument("environments", nargs="*", help="component names or lorapilot-train (default: all)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE.parent, help="wheels/, uv/ and envs/ go here")
    parser.add_argument(
        "--sources", type=Path, help="folder of upstream archives (<name>-<rev>.tar.gz) for the apps' --help"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep each built environment (default: delete after its checks)"
    )
    args = parser.parse_args(argv)
    repo = repo or Path(__file__).resolve().parents[4]
    try:
        checks = tomllib.loads((repo / "components" / "env-checks.toml").read_text())
        system = SystemLibs.load(repo / "nix" / "system-libs.json")
        python = stack_python(repo)
        chosen = select(locked_environments(repo), args.environments)
    except (LorapilotError, OSError, tomllib.TOMLDecodeError) as exc:
        print(f"check-envs: {exc}", file=sys.stderr)
        return 2
    results: dict[str, list[str]] = {}
    for env in chosen:
        print(f"{env.name}: building from {env.project.relative_to(repo) if env.project != repo else 'uv.lock'}")
        venv = args.cache / "envs" / env.name
        built = build(env, python, venv, args.cache / "uv")
        if built.returncode:
            results[env.name] = [
                f"uv sync: {built.stderr.strip().splitlines()[-1] if built.stderr.strip() else built.returncode}"
            ]
            print(f"  uv sync: FAILED\n{built.stderr[-3000:]}")
            continue
        failures = (
            [] if check_one(env, python, args.cache / "wheels", system) else ["linkage: unresolved libraries (above)"]
        )
        spec = checks.get(env.name, {})
        src = upstream_tree(args.sources, spec.get("source"), args.cache / "sources")
        failures += run_checks(env, venv, spec, src, repo)
        results[env.name] = failures
        if not args.keep:
            shutil.rmtree(venv, ignore_errors=True)
    print("\nsummary:")
    for name, failures in results.items():
        print(f"  {name}: {'ok' if not failures else 'FAILED'}")
        for line in failures:
            print(f"    {line}")
    return 0 if all(not f for f in results.values()) else 1
