"""Installed into upstream test environments (with a .pth) that pair CPU torch with torchvision from PyPI.

PyPI's torchvision wheels are CUDA builds: their compiled ops (``torchvision._C``)
need ``libc10_cuda.so``, which CPU torch lacks, so they do not load. torchvision
is written to import without its ops (``extension._has_ops()`` guards), except
that ``_meta_registrations`` registers fake kernels for ``torchvision::nms`` and
``torchvision::qnms`` unconditionally, which fails when the ops were never
defined. This defines just those two schemas (no kernels) when the compiled ops
are absent, so torchvision's pure-Python parts import. Calling nms still fails
loudly ("no kernel"); ComfyUI's image generation never calls it.
"""

import importlib.abc
import sys

_TARGET = "torchvision.extension"
_SCHEMAS = (
    "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
)


def _define_missing_ops(extension) -> None:
    if extension._has_ops():
        return
    import torch

    lib = torch.library.Library("torchvision", "FRAGMENT")
    for schema in _SCHEMAS:
        lib.define(schema)
    extension._lorapilot_schema_lib = lib  # keep the registrations alive


class _AfterExtension(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != _TARGET:
            return None
        sys.meta_path.remove(self)
        try:
            import importlib.util

            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        original = loader.exec_module

        def exec_module(module):
            original(module)
            _define_missing_ops(module)

        loader.exec_module = exec_module
        return spec


def install() -> None:
    if not any(isinstance(f, _AfterExtension) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterExtension())
