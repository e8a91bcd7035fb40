# All outputs for one system. nixpkgs is imported once, with CUDA on: unfree
# (the CUDA toolkit's licence) and cudaSupport (every CUDA-aware package built for it).
{ inputs, pins, system }:
let
  pkgs = import inputs.nixpkgs {
    inherit system;
    config = {
      allowUnfree = true;
      cudaSupport = true;
    };
  };
  inherit (pkgs) lib;

  mkPythonEnv = import ./python-env.nix { inherit inputs pkgs; };
  lorapilot = import ./lorapilot.nix { inherit pkgs mkPythonEnv system; };

  # The attribute names of `packages` use builtins only: `nix eval .#lib.x` looks in
  # packages.<system> first, and that lookup must not need nixpkgs.
  inherit (builtins) attrNames elem filter listToAttrs;

  # One isolated environment per components/<name>/pyproject.toml + uv.lock.
  pythonEnvNames = filter (name: elem system pins.pythonEnvs.${name}.systems) (attrNames pins.pythonEnvs);
  pythonEnvs = listToAttrs (map (name: {
    inherit name;
    value = mkPythonEnv {
      inherit name;
      workspaceRoot = pins.pythonEnvs.${name}.dir;
      pythonVersion = pins.pythonEnvs.${name}.python;
    };
  }) pythonEnvNames);

  sources = import ./sources.nix { inherit inputs pkgs pins pythonEnvs; };

  # The Copilot CLI, from components/copilot/package-lock.json (the same lock
  # `lorapilot install copilot` uses); code-server from nixpkgs. npm's loader only
  # spawns the prebuilt platform binary, so bin/copilot is that binary, patched
  # for Nix's loader (patchelf keeps its embedded application intact).
  copilotModules = pkgs.importNpmLock.buildNodeModules { npmRoot = ../components/copilot; nodejs = pkgs.nodejs; };
  copilot = pkgs.stdenv.mkDerivation {
    pname = "copilot-env";
    version = (builtins.fromJSON (builtins.readFile ../components/copilot/package.json)).version;
    dontUnpack = true;
    dontStrip = true;
    nativeBuildInputs = [ pkgs.autoPatchelfHook ];
    buildInputs = [ pkgs.stdenv.cc.cc.lib ];
    installPhase = ''
      mkdir -p $out/bin
      cp -r ${copilotModules}/node_modules $out/node_modules
      chmod -R u+w $out/node_modules
      rm -rf $out/node_modules/@github/copilot-linuxmusl-*
      ln -s ../node_modules/@github/copilot-linux-${if system == "aarch64-linux" then "arm64" else "x64"}/copilot $out/bin/copilot
    '';
  };
  envs = pythonEnvs // {
    inherit copilot;
    code-server = pkgs.code-server;
  };

  mkLorapilot = import ./app.nix { inherit pkgs pins envs sources lorapilot; };
  default = mkLorapilot { };
  rootImage = (mkLorapilot { imageUser = "root"; }).image;
in
{
  inherit mkLorapilot;

  packages = listToAttrs (map (name: { name = "${name}-env"; value = envs.${name}; }) (attrNames envs)) // {
    lorapilot = default.package;
    default = default.package;
    lorapilot-env = lorapilot.core;
    lorapilot-train-env = lorapilot.train;
    manifest = default.manifest;
    process-compose-config = default.processComposeConfig;
    oci-image = default.image;
    oci-image-root = rootImage;
  };

  apps = {
    lorapilot = default.app;
    default = default.app;
  };

  devShells.default = import ./devshell.nix { inherit pkgs; };

  checks = {
    process-compose-config = default.processComposeConfig;
    pins = pkgs.runCommand "lorapilot-pins" { } (
      if pins.pinProblems == [ ] then "touch $out"
      else throw (lib.concatStringsSep "\n" pins.pinProblems)
    );
    # The Python test suite, minus what needs a browser or a Nix store of its own.
    tests = pkgs.runCommand "lorapilot-tests" {
      # python311: `uv lock --check` of Kohya's lock needs a 3.11 interpreter.
      nativeBuildInputs = [ lorapilot.dev pkgs.git pkgs.ffmpeg pkgs.nodejs pkgs.python311 ];
    } ''
      cp -r ${../.} src
      chmod -R u+w src
      cd src
      export HOME=$TMPDIR
      python -m pytest -q -p no:cacheprovider -m "not browser and not nix"
      touch $out
    '';
  };
}
