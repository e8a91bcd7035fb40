# Build systems for the packages in our locks that PyPI has only as sdists
# (uv.lock does not record build systems; see uv2nix's "overriding" docs).
{ pkgs }:
let
  inherit (pkgs) lib;
  setuptools = { setuptools = [ ]; wheel = [ ]; };
  buildSystems = {
    antlr4-python3-runtime = setuptools;
    dadaptation = setuptools;
    fairscale = setuptools;
    iopath = setuptools;
    lycoris-lora = setuptools;
    schedulefree = setuptools;
    # setup.py imports torch to detect the accelerator; ops are compiled at run time.
    deepspeed = setuptools // { torch = [ ]; packaging = [ ]; };
  };
  extraAttrs = {
    # Python only, no CUDA ops: with DS_ACCELERATOR=cuda setup.py runs `nvcc -V`
    # (installed_cuda_version), which the build lacks. The accelerator is detected
    # again at run time (torch.cuda.is_available()); this only sets what setup.py records.
    deepspeed = { DS_BUILD_OPS = "0"; DS_ACCELERATOR = "cpu"; };
  };
in
final: prev:
lib.mapAttrs (name: spec:
  prev.${name}.overrideAttrs (old: {
    nativeBuildInputs = (old.nativeBuildInputs or [ ]) ++ final.resolveBuildSystem spec;
  } // (extraAttrs.${name} or { }))
) (lib.filterAttrs (name: _: prev ? ${name} && (prev.${name}.passthru.format or null) == "pyproject") buildSystems)
