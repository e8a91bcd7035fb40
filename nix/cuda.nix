# The one place that makes PyPI's CUDA wheels work under Nix (shared by every
# environment; see uv2nix#31):
# - each nvidia-* wheel finds its siblings: autoPatchelf searches the site-packages
#   of every package in its dependency closure (nvidia-cudnn -> nvidia-cublas, ...);
# - torch and the wheels built on it (torchvision, xformers, ...) find torch's and
#   the nvidia-* libraries the same way;
# - libcuda.so.1 is the host driver's: it is the only missing library allowed, and
#   found at run time through /run/opengl-driver/lib (NixOS) or LD_LIBRARY_PATH
#   (other distributions and containers, where the app wrapper and image set it).
{ pkgs }:
let
  inherit (pkgs) lib;
  driverLibrary = "libcuda.so.1";
  driverRunpath = "/run/opengl-driver/lib";

  # Wheels with CUDA code that link against nvidia-* or torch libraries.
  cudaConsumers = [
    "torch" "torchvision" "torchaudio" "torchao" "torchcodec" "xformers" "triton"
    "bitsandbytes" "onnxruntime-gpu" "flash-attn" "cupy-cuda12x" "comfy-kitchen" "comfy-aimdo"
  ];
  # Consumers that use CUDA libraries without declaring the nvidia-* packages.
  usesEveryNvidiaWheel = [ "onnxruntime-gpu" ];
in
final: prev:
let
  inherit (final) python;
  isWheel = name: (prev.${name}.passthru.format or null) == "wheel";
  nvidiaNames = lib.filter (lib.hasPrefix "nvidia-") (lib.attrNames prev);
  selected = lib.filter (name: prev ? ${name} && isWheel name) (nvidiaNames ++ cudaConsumers);

  # Everything `name` depends on (from the lock's metadata), itself excluded.
  closureOf = name: lib.filter (drv: (drv.pname or "") != name) (final.resolveVirtualEnv { ${name} = [ ]; });
  searchPathsOf = name:
    closureOf name
    ++ lib.optionals (lib.elem name usesEveryNvidiaWheel) (map (n: final.${n}) nvidiaNames);

  fix = name: prev.${name}.overrideAttrs (old: {
    autoPatchelfIgnoreMissingDeps = (old.autoPatchelfIgnoreMissingDeps or [ ]) ++ [ driverLibrary ];
    appendRunpaths = (old.appendRunpaths or [ ]) ++ [ driverRunpath ];
    preFixup = (old.preFixup or "") + lib.concatMapStrings (drv: ''
      addAutoPatchelfSearchPath ${drv}/${python.sitePackages}
    '') (searchPathsOf name);
  });

  # torchcodec ships one core per FFmpeg major version and loads the first that
  # works: keep the one matching nixpkgs' FFmpeg and give it that FFmpeg.
  torchcodec = lib.optionalAttrs (prev ? torchcodec && isWheel "torchcodec") {
    torchcodec = (fix "torchcodec").overrideAttrs (old: {
      buildInputs = (old.buildInputs or [ ]) ++ [ pkgs.ffmpeg.lib ];
      preFixup = ''
        keep=libtorchcodec_core${lib.versions.major pkgs.ffmpeg.version}.so
        find $out -name 'libtorchcodec_core*.so' ! -name "$keep" -delete
        find $out -name 'libtorchcodec_custom_ops*.so' ! -name "''${keep/core/custom_ops}" -delete
        find $out -name 'libtorchcodec_pybind_ops*.so' ! -name "''${keep/core/pybind_ops}" -delete
      '' + (old.preFixup or "");
    });
  };
in
lib.genAttrs selected fix // torchcodec
