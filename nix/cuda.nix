# The one place that makes PyPI's CUDA wheels work under Nix (shared by every
# environment; see uv2nix#31):
# - each nvidia-* wheel finds its siblings: autoPatchelf searches the site-packages
#   of every package in its dependency closure (nvidia-cudnn -> nvidia-cublas, ...);
# - torch and the wheels built on it (torchvision, xformers, ...) find torch's and
#   the nvidia-* libraries the same way;
# - libcuda.so.1 is the host driver's: it is the only missing library allowed, and
#   found at run time through /run/opengl-driver/lib (NixOS) or LD_LIBRARY_PATH
#   (other distributions and containers, where the app wrapper and image set it);
# - system-libs.json (read by scripts/check-linkage too) names what every wheel gets
#   (the manylinux2014 policy libraries, zlib), what single wheels get (rdma-core
#   for cuFile's RDMA path) and the files removed before autoPatchelf because they
#   load libraries nothing provides (bitsandbytes' ROCm/XPU/CUDA 11/CUDA 13 builds,
#   onnxruntime's TensorRT provider, which needs libnvinfer; torchcodec's cores for
#   the FFmpeg majors other than 7, the one it is given: ffmpeg_7).
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
  usesEveryNvidiaWheel = [ "onnxruntime-gpu" "bitsandbytes" ];

  systemLibs = builtins.fromJSON (builtins.readFile ./system-libs.json);
  # "ffmpeg_7.lib" -> pkgs.ffmpeg_7.lib; an attribute may be a list (manylinux2014).
  attr = path: builtins.foldl' (set: key: set.${key}) pkgs (builtins.filter builtins.isString (builtins.split "\\." path));
  asList = x: if builtins.isList x then x else [ x ];
  everyWheelInputs = builtins.concatMap (path: asList (attr path)) systemLibs.every-wheel.attrs;
  packageInputs = name: map attr (systemLibs.packages.${name} or [ ]);
  removals = name: lib.concatMapStrings (glob: ''
    find $out -name '${glob}' -delete
  '') (systemLibs.remove.${name} or [ ]);
in
# lockNames: the packages of the environment's uv.lock (the scope's other attributes are
# functions and the scope itself, which must not be forced here).
lockNames:
final: prev:
let
  inherit (final) python;
  isWheel = name: (prev.${name}.passthru.format or null) == "wheel";
  wheelNames = lib.filter (name: prev ? ${name} && isWheel name) lockNames;
  nvidiaNames = lib.filter (lib.hasPrefix "nvidia-") (lib.attrNames prev);
  selected = lib.filter (name: prev ? ${name} && isWheel name) (nvidiaNames ++ cudaConsumers);

  # Every wheel: the system libraries of system-libs.json, and its removals (before autoPatchelf).
  withSystemLibs = name: prev.${name}.overrideAttrs (old: {
    buildInputs = (old.buildInputs or [ ]) ++ everyWheelInputs ++ packageInputs name;
    preFixup = removals name + (old.preFixup or "");
  });

  # Everything `name` depends on (from the lock's metadata), itself excluded.
  closureOf = name: lib.filter (drv: (drv.pname or "") != name) (final.resolveVirtualEnv { ${name} = [ ]; });
  # Only the native libraries of the closure (nvidia-* and the CUDA consumers): torch's
  # pure-Python dependencies differ from lock to lock, and naming them here would give
  # every environment its own torch build instead of one shared store path.
  isNative = drv: lib.hasPrefix "nvidia-" (drv.pname or "") || lib.elem (drv.pname or "") cudaConsumers;
  searchPathsOf = name:
    lib.filter isNative (closureOf name)
    ++ lib.optionals (lib.elem name usesEveryNvidiaWheel) (map (n: final.${n}) nvidiaNames);

  fix = name: (withSystemLibs name).overrideAttrs (old: {
    autoPatchelfIgnoreMissingDeps = (old.autoPatchelfIgnoreMissingDeps or [ ]) ++ [ driverLibrary ];
    appendRunpaths = (old.appendRunpaths or [ ]) ++ [ driverRunpath ];
    preFixup = (old.preFixup or "") + lib.concatMapStrings (drv: ''
      addAutoPatchelfSearchPath ${drv}/${python.sitePackages}
    '') (searchPathsOf name);
  });

in
lib.genAttrs wheelNames withSystemLibs // lib.genAttrs selected fix
