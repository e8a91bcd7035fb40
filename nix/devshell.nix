# `nix develop`: Python, uv, Node, process-compose, Nix tools and the CUDA toolchain.
{ pkgs }:
let
  inherit (pkgs) lib;
  cuda = pkgs.cudaPackages;
  python = pkgs.python312;
in
pkgs.mkShell {
  packages = [
    python
    pkgs.uv
    pkgs.nodejs
    pkgs.process-compose
    pkgs.git
    pkgs.ffmpeg
    pkgs.nix
    pkgs.nixfmt
    pkgs.nix-tree
    cuda.cuda_nvcc
    cuda.cuda_cudart
  ];
  env = {
    CUDA_HOME = "${cuda.cuda_nvcc}";
    # uv uses this interpreter and never downloads one.
    UV_PYTHON = "${python}/bin/python3";
    UV_PYTHON_DOWNLOADS = "never";
  };
  shellHook = ''
    # The host driver's libcuda: NixOS links it into /run/opengl-driver/lib; other
    # distributions keep it with the system libraries (only the driver's files are
    # linked, so the host's libc never shadows Nix's).
    driver_dir=/run/opengl-driver/lib
    if [ ! -e "$driver_dir/libcuda.so.1" ]; then
      for dir in /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib/wsl/lib; do
        if [ -e "$dir/libcuda.so.1" ]; then
          driver_dir="''${XDG_RUNTIME_DIR:-/tmp}/lorapilot-driver-$(id -u)"
          mkdir -p "$driver_dir"
          for lib in "$dir"/libcuda.so* "$dir"/libnvidia-*.so*; do [ -e "$lib" ] && ln -sf "$lib" "$driver_dir/"; done
          break
        fi
      done
    fi
    export LD_LIBRARY_PATH="$driver_dir:${lib.makeLibraryPath [ cuda.cuda_cudart ]}''${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  '';
}
