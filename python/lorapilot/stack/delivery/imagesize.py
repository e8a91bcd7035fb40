"""The image's layers and pull size, computed from the locks (no image is built here).

Layers as docs/delivery.md plans them: one for the shared CUDA/torch base (torch and everything
it pulls in), one for Python packages several environments share, and one per environment with
what only it installs, so updating one non-torch component re-downloads only its own layer.
A pull downloads gzip layers of the unpacked files, about the size of the wheels (both deflate);
the unpacked size uses UNPACK_FACTOR, measured on real wheels (see below).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lorapilot.stack.delivery.environments import LockedEnvironment
from lorapilot.stack.delivery.locks import LockedPackage, read_lock

# Measured on the 302 wheels the comfyui, tensorboard, jupyterlab and ai-toolkit locks install on
# x86_64 (torch 2.9.1, CUDA 12.8): 4.89 GB of wheels unpack to 9.30 GB (1.90x; the nvidia-* wheels
# 1.3-1.6x, torch 1.9x, triton 3.6x). The old figure, 2.4x, was taken from two small nvidia wheels.
UNPACK_FACTOR = 1.90
TARGET_PULL_BYTES = 8 * 10**9
BASE_ROOTS = ("torch",)


@dataclass
class Layer:
    name: str
    wheels: dict[str, int] = field(default_factory=dict)  # url -> bytes

    @property
    def pull_bytes(self) -> int:
        return sum(self.wheels.values())


def base_names(env: LockedEnvironment) -> set[str]:
    """torch and every package it depends on in ``env``'s lock (the CUDA/torch base)."""
    by_name = {p["name"]: p for p in read_lock(env.project)["package"]}
    todo, seen = [n for n in BASE_ROOTS if n in by_name], set()
    while todo:
        name = todo.pop()
        if name in seen or name not in by_name:
            continue
        seen.add(name)
        todo += [d["name"] for d in by_name[name].get("dependencies", [])]
    return seen


def plan_layers(packages: dict[str, list[LockedPackage]], base: set[str]) -> list[Layer]:
    """Layers for environments ``packages`` (name -> its packages); each wheel lands in one layer."""
    users: dict[str, set[str]] = {}
    sizes: dict[str, int] = {}
    names: dict[str, str] = {}
    for env, pkgs in packages.items():
        for p in pkgs:
            if p.wheel is None:
                continue
            users.setdefault(p.wheel.url, set()).add(env)
            sizes[p.wheel.url] = p.wheel.size or 0
            names[p.wheel.url] = p.name
    layers = {"cuda-torch-base": Layer("cuda-torch-base"), "shared-python": Layer("shared-python")}
    layers.update({env: Layer(env) for env in packages})
    for url, envs in users.items():
        if names[url] in base:
            target = "cuda-torch-base"
        elif len(envs) > 1:
            target = "shared-python"
        else:
            target = next(iter(envs))
        layers[target].wheels[url] = sizes[url]
    return [layer for layer in layers.values() if layer.wheels]


def report(layers: list[Layer], unpack_factor: float = UNPACK_FACTOR) -> tuple[str, int]:
    """The printed table and the total pull in bytes."""
    lines = [f"{'layer':<18} {'wheels':>6} {'pull GB':>8} {'unpacked GB':>12}"]
    for layer in layers:
        lines.append(
            f"{layer.name:<18} {len(layer.wheels):>6} {layer.pull_bytes / 1e9:>8.2f} "
            f"{layer.pull_bytes * unpack_factor / 1e9:>12.2f}"
        )
    total = sum(layer.pull_bytes for layer in layers)
    lines.append(
        f"{'total':<18} {sum(len(l.wheels) for l in layers):>6} {total / 1e9:>8.2f} {total * unpack_factor / 1e9:>12.2f}"
    )
    verdict = "within" if total <= TARGET_PULL_BYTES else "OVER"
    lines.append(
        f"target: pull <= {TARGET_PULL_BYTES / 1e9:.0f} GB: {verdict} "
        "(wheels only; Python, code-server and the Node UIs come on top, roughly 1 GB unpacked)"
    )
    return "\n".join(lines), total
