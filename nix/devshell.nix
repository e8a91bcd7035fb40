# `nix develop`: Python, uv, Node, process-compose, Nix tools and the CUDA toolchain.
{ pkgs }:
let
  inherit (pkgs) lib;
  cuda = pkgs.cudaPackages;
  python = pkgs.python311;  # the shared stack (components/stack.toml)
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
    . ${./host-driver.sh}
    export LD_LIBRARY_PATH="${lib.makeLibraryPath [ cuda.cuda_cudart ]}:/run/opengl-driver/lib''${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  '';
}
