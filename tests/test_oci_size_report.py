"""oci/estimate-size.py: the image's layers and pull size from fixture locks (no image is built)."""

from __future__ import annotations

import importlib.util
import shutil

import pytest

from lorapilot.stack.delivery.imagesize import UNPACK_FACTOR, plan_layers, report
from lorapilot.stack.delivery.locks import LockedFile, LockedPackage
from support.workspaces import REPO_ROOT

GB = 10**9


def _lock(root_name: str, deps: dict[str, tuple[int, list[str]]]) -> str:
    """A uv.lock whose root depends on every key of ``deps`` (name -> (wheel bytes, its dependencies))."""
    lines = [
        "version = 1",
        'requires-python = "==3.11.*"',
        "",
        "[[package]]",
        f'name = "{root_name}"',
        'version = "0"',
        'source = { virtual = "." }',
        "dependencies = [" + ", ".join(f'{{ name = "{n}" }}' for n in deps) + "]",
        "",
    ]
    for name, (size, children) in deps.items():
        lines += [
            "[[package]]",
            f'name = "{name}"',
            'version = "1.0"',
            'source = { registry = "https://pypi.org/simple" }',
        ]
        if children:
            lines.append("dependencies = [" + ", ".join(f'{{ name = "{c}" }}' for c in children) + "]")
        url = f"https://files.example/{name.replace('-', '_')}-1.0-py3-none-manylinux_2_17_x86_64.whl"
        lines += [f'wheels = [{{ url = "{url}", hash = "sha256:{"0" * 64}", size = {size} }}]', ""]
    return "\n".join(lines)


@pytest.fixture
def repo(tmp_path):
    torch = {
        "torch": (3 * GB, ["nvidia-cublas-cu12", "filelock"]),
        "nvidia-cublas-cu12": (GB, []),
        "filelock": (10**6, []),
    }
    (tmp_path / "components").mkdir()
    shutil.copy(REPO_ROOT / "components" / "stack.toml", tmp_path / "components")
    for name, extra in (
        ("alpha", {"numpy": (20 * 10**6, []), "alpha-only": (300 * 10**6, [])}),
        ("beta", {"numpy": (20 * 10**6, []), "beta-only": (700 * 10**6, [])}),
    ):
        folder = tmp_path / "components" / name
        folder.mkdir()
        (folder / "component.toml").write_text(f'name = "{name}"\n')
        (folder / "uv.lock").write_text(_lock(f"{name}-env", {**torch, **extra}))
    trainer = tmp_path / "components" / "trainer"
    trainer.mkdir()
    (trainer / "environment.toml").write_text('name = "trainer"\n')
    (trainer / "uv.lock").write_text(_lock("trainer-env", {**torch, "trainer-only": (50 * 10**6, [])}))
    (tmp_path / "uv.lock").write_text(_lock("lorapilot", {"click": (10**5, [])}))
    return tmp_path


def _estimate():
    spec = importlib.util.spec_from_file_location("estimate_size", REPO_ROOT / "oci" / "estimate-size.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows(text: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split()[1:] for line in text.splitlines()[1:] if not line.startswith("target")}


def test_each_wheel_lands_once_in_the_base_the_shared_layer_or_its_environment(repo, capsys):
    assert _estimate().main([], root=repo) == 0
    out = capsys.readouterr().out
    rows = _rows(out)
    assert rows["cuda-torch-base"][:2] == ["3", "4.00"]  # torch + its closure, once for all environments
    assert rows["shared-python"][:2] == ["1", "0.02"]  # numpy: alpha and beta
    assert (
        rows["alpha"][:2] == ["1", "0.30"]
        and rows["beta"][:2] == ["1", "0.70"]
        and rows["trainer"][:2] == ["1", "0.05"]
    )
    assert rows["lorapilot-train"][:2] == ["1", "0.00"]
    assert rows["total"][:2] == ["8", "5.07"]
    assert rows["total"][2] == f"{5.0711 * UNPACK_FACTOR:.2f}"  # 5 071 100 000 bytes
    assert "target: pull <= 8 GB: within" in out


def test_enabled_leaves_out_the_other_components_but_keeps_trainers(repo, capsys):
    assert _estimate().main(["--enabled", "alpha"], root=repo) == 0
    rows = _rows(capsys.readouterr().out)
    assert "beta" not in rows and "alpha" in rows and "trainer" in rows
    assert "shared-python" not in rows  # numpy is alpha's alone now
    assert rows["total"][1] == "4.37"
    assert _estimate().main(["--enabled", "gamma"], root=repo) == 2
    assert "unknown component(s) gamma" in capsys.readouterr().err


def test_over_the_target_is_said():
    big = [LockedPackage("torch", "1", LockedFile("https://x/torch-1-py3-none-any.whl", None, 9 * GB), None)]
    text, total = report(plan_layers({"env": big}, {"torch"}))
    assert total == 9 * GB and "target: pull <= 8 GB: OVER" in text


def test_the_real_locks_fit_the_target():
    # The acceptance figure of docs/delivery.md: every component, pulled, within 8 GB of wheels.
    from lorapilot.stack.delivery.environments import locked_environments, stack_python
    from lorapilot.stack.delivery.imagesize import base_names

    envs = locked_environments(REPO_ROOT)
    packages = {n: e.packages(stack_python(REPO_ROOT)) for n, e in envs.items()}
    _, total = report(plan_layers(packages, set().union(*(base_names(e) for e in envs.values()))))
    assert total <= 8 * GB
