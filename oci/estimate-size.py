#!/usr/bin/env python3
"""The image's layers and pull size from the uv.lock files, without building it (docs/delivery.md).

For every environment the image carries (all, or --enabled a,b,...: the components of
`lib.mkLorapilot { enabled = [...]; }`; environments that are no service, and LoRA Pilot's own,
always come along), take the x86_64 wheel each locked package installs for the shared stack's
Python, count each wheel once, and print one line per layer: the CUDA/torch base, the Python
packages several environments share, and one layer per environment.

Usage: python3 oci/estimate-size.py [--enabled comfyui,kohya]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))

from lorapilot.stack.delivery.environments import locked_environments, stack_python  # noqa: E402
from lorapilot.stack.delivery.imagesize import base_names, plan_layers, report  # noqa: E402


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enabled", help="comma-separated components (default: every one)")
    args = parser.parse_args(argv)
    envs = locked_environments(root)
    services = {p.parent.name for p in (root / "components").glob("*/component.toml")}
    if args.enabled:
        wanted = {n.strip() for n in args.enabled.split(",") if n.strip()}
        unknown = wanted - services
        if unknown:
            print(f"estimate-size: unknown component(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(services))}",
                  file=sys.stderr)
            return 2
        envs = {n: e for n, e in envs.items() if n in wanted or n not in services}
    python = stack_python(root)
    packages = {name: env.packages(python) for name, env in envs.items()}
    base = set().union(*(base_names(env) for env in envs.values()))
    text, _ = report(plan_layers(packages, base))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
