"""The offline linkage check (scripts/check-linkage): every DT_NEEDED of every ELF in an
environment's wheels resolves to the environment, the libraries Nix adds, or the host driver.

Fixture wheels are built here with real (tiny) ELF shared objects and served over real HTTP
on loopback; one real system library checks the ELF reader against the linker's own output.
"""

from __future__ import annotations

import glob
import http.server
import io
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

from lorapilot.stack.delivery.elf import ElfError, read_dynamic
from lorapilot.stack.delivery.linkage import SystemLibs, check_linkage
from lorapilot.stack.delivery.linkage_cli import main
from support.elf_fixture import AARCH64, sha256, shared_object, wheel
from support.workspaces import REPO_ROOT

SYSTEM = SystemLibs.load(REPO_ROOT / "nix" / "system-libs.json")


def test_reads_needed_and_soname_of_a_real_system_library():
    found = sorted(glob.glob("/usr/lib/x86_64-linux-gnu/libz.so.1") + glob.glob("/lib/x86_64-linux-gnu/libz.so.1"))
    if not found:
        pytest.skip("no x86_64 libz.so.1 on this machine")
    with open(found[0], "rb") as fh:
        info = read_dynamic(fh)
    assert info.soname == "libz.so.1" and "libc.so.6" in info.needed


def test_reads_the_fixture_and_rejects_what_is_not_elf():
    info = read_dynamic(io.BytesIO(shared_object("libfoo.so.2", ["libbar.so.1", "libc.so.6"])))
    assert (info.soname, info.needed, info.machine) == ("libfoo.so.2", ["libbar.so.1", "libc.so.6"], 62)
    with pytest.raises(ElfError, match="not an ELF"):
        read_dynamic(io.BytesIO(b"#!/bin/sh\n" + bytes(64)))
    with pytest.raises(ElfError, match="truncated"):
        read_dynamic(io.BytesIO(shared_object("libfoo.so.2", ["libbar.so.1"])[:100]))


def _fixture_wheels(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return {
        # resolved: a sibling wheel's soname, a manylinux library, the host driver
        "torch": wheel(
            folder,
            "torch",
            "1.0",
            {
                "torch/lib/libtorch_cuda.so": shared_object(
                    "libtorch_cuda.so", ["libcudart.so.12", "libcuda.so.1", "libstdc++.so.6"]
                ),
                "torch/_C.cpython-311-x86_64-linux-gnu.so": shared_object(
                    None, ["libtorch_cuda.so", "libmissing.so.3"]
                ),
                "torch/README.txt": b"not an ELF file, but longer than sixty-four bytes so that its magic is read" * 2,
            },
        ),
        "nvidia-cuda-runtime-cu12": wheel(
            folder,
            "nvidia-cuda-runtime-cu12",
            "12.8",
            {
                "nvidia/cuda_runtime/lib/libcudart.so.12": shared_object("libcudart.so.12", ["libdl.so.2"]),
            },
        ),
        # allowed only for this package: Nix gives cuFile rdma-core
        "nvidia-cufile-cu12": wheel(
            folder,
            "nvidia-cufile-cu12",
            "1.13",
            {
                "nvidia/cufile/lib/libcufile_rdma.so.1": shared_object(
                    "libcufile_rdma.so.1", ["libibverbs.so.1", "librdmacm.so.1"]
                ),
            },
        ),
        # the same library from another package is not allowed; removed and foreign files are not checked
        "bitsandbytes": wheel(
            folder,
            "bitsandbytes",
            "0.49",
            {
                "bitsandbytes/libbitsandbytes_cuda128.so": shared_object(None, ["libcudart.so.12", "libibverbs.so.1"]),
                "bitsandbytes/libbitsandbytes_rocm64.so": shared_object(None, ["libamdhip64.so.6"]),
                "bitsandbytes/arm/libbitsandbytes_cpu.so": shared_object(None, ["libnothere.so.9"], machine=AARCH64),
            },
        ),
    }


def test_resolved_unresolved_and_allowed_libraries(tmp_path):
    report = check_linkage(_fixture_wheels(tmp_path / "wheels"), SYSTEM)
    assert report.elf_files == 5  # the ROCm build is removed, the aarch64 file never loads here
    assert sorted((u.package, u.library) for u in report.unresolved) == [
        ("bitsandbytes", "libibverbs.so.1"),
        ("torch", "libmissing.so.3"),
    ]
    assert not report.ok


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextmanager
def _serve(folder: Path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: _Quiet(*a, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _fixture_repo(root: Path, base_url: str, wheels: dict[str, Path], wrong_hash: str | None = None) -> Path:
    (root / "components" / "demo").mkdir(parents=True)
    (root / "nix").mkdir()
    shutil.copy(REPO_ROOT / "nix" / "system-libs.json", root / "nix" / "system-libs.json")
    shutil.copy(REPO_ROOT / "components" / "stack.toml", root / "components" / "stack.toml")
    lines = [
        "version = 1",
        'requires-python = "==3.11.*"',
        "",
        "[[package]]",
        'name = "demo-env"',
        'version = "0"',
        'source = { virtual = "." }',
        "dependencies = [" + ", ".join(f'{{ name = "{n}" }}' for n in wheels) + "]",
        "",
    ]
    for name, path in wheels.items():
        digest = "0" * 64 if name == wrong_hash else sha256(path)
        lines += [
            "[[package]]",
            f'name = "{name}"',
            f'version = "{path.name.split("-")[1]}"',
            f'source = {{ registry = "{base_url}" }}',
            f'wheels = [{{ url = "{base_url}/{path.name}", hash = "sha256:{digest}", size = {path.stat().st_size} }}]',
            "",
        ]
    (root / "components" / "demo" / "uv.lock").write_text("\n".join(lines))
    return root


def test_the_command_downloads_once_prints_unresolved_per_environment_and_fails(tmp_path, capsys):
    wheels = _fixture_wheels(tmp_path / "served")
    cache = tmp_path / "cache"
    with _serve(tmp_path / "served") as url:
        repo = _fixture_repo(tmp_path / "repo", url, wheels)
        assert main(["demo", "--cache", str(cache)], repo=repo) == 1
    out = capsys.readouterr().out
    assert "demo: 4 wheels, 5 ELF files, 2 unresolved" in out
    assert "unresolved libmissing.so.3  <- torch:torch/_C.cpython-311-x86_64-linux-gnu.so" in out
    assert "unresolved libibverbs.so.1  <- bitsandbytes:bitsandbytes/libbitsandbytes_cuda128.so" in out
    # The server is gone: the second run reads the cache only, each wheel's ELF index included.
    assert len(list(cache.glob("*/elf-index.json"))) == 4
    assert main(["demo", "--cache", str(cache)], repo=repo) == 1
    assert "demo: 4 wheels, 5 ELF files, 2 unresolved" in capsys.readouterr().out
    # An environment without unresolved libraries passes.
    del wheels["bitsandbytes"]
    (tmp_path / "served2").mkdir()
    wheels["torch"] = wheel(
        tmp_path / "served2",
        "torch",
        "1.0",
        {
            "torch/lib/libtorch_cuda.so": shared_object(
                "libtorch_cuda.so", ["libcudart.so.12", "libcuda.so.1", "libnvidia-ml.so.1"]
            )
        },
    )
    with _serve(tmp_path / "served2") as url:
        shutil.copy(wheels["nvidia-cuda-runtime-cu12"], tmp_path / "served2")
        shutil.copy(wheels["nvidia-cufile-cu12"], tmp_path / "served2")
        repo = _fixture_repo(tmp_path / "repo2", url, wheels)
        assert main(["demo", "--cache", str(tmp_path / "cache2")], repo=repo) == 0
    assert "demo: 3 wheels, 3 ELF files, 0 unresolved" in capsys.readouterr().out


def test_a_wheel_that_does_not_match_its_lock_is_refused_and_not_cached(tmp_path, capsys):
    wheels = _fixture_wheels(tmp_path / "served")
    with _serve(tmp_path / "served") as url:
        repo = _fixture_repo(tmp_path / "repo", url, wheels, wrong_hash="torch")
        assert main(["demo", "--cache", str(tmp_path / "cache")], repo=repo) == 2
    err = capsys.readouterr().err
    assert "torch-1.0-py3-none-manylinux_2_17_x86_64.whl: sha256 differs from the lock's" in err
    assert not list((tmp_path / "cache").glob("*/torch-*"))


def test_an_unknown_environment_is_named(tmp_path, capsys):
    assert main(["nope"], repo=REPO_ROOT) == 2
    assert "unknown environment nope" in capsys.readouterr().err
