# LoRA Pilot's own environments, from the root pyproject.toml + uv.lock:
# - core:  the lorapilot package and its core dependencies (ControlPilot, the CLI);
# - train: core + the `train` and `cuda` extras (the native trainer, TrainPilot's jobs);
# - dev:   core + `train` + `dev` (what checks.tests runs pytest in).
{ pkgs, mkPythonEnv, system }:
let
  inherit (pkgs) lib;
  root = ../.;
  # Only what the package is built from (the sdist's files, plus the lock), so
  # editing tests or nix/ does not rebuild it.
  keep = [ "pyproject.toml" "uv.lock" ]
    ++ (builtins.fromTOML (builtins.readFile (root + "/pyproject.toml"))).tool.hatch.build.targets.sdist.include;
  source = builtins.path {
    name = "lorapilot-source";
    path = root;
    filter = path: type:
      let rel = lib.removePrefix (toString root + "/") (toString path); in
      # a kept path, something inside one, or a folder on the way to one
      lib.any (kept: rel == kept || lib.hasPrefix (kept + "/") rel || (type == "directory" && lib.hasPrefix (rel + "/") kept)) keep
      && !(lib.hasInfix "/node_modules" rel) && !(lib.hasInfix "__pycache__" rel);
  };
  pythonVersion = "3.11";  # the shared stack (components/stack.toml)

  webDir = root + "/python/lorapilot/controlpilot/web";
  # ControlPilot's web UI (React + Vite), built from its package-lock.json; its build
  # writes python/lorapilot/controlpilot/static/, which the wheel then ships.
  webAssets = pkgs.buildNpmPackage {
    pname = "lorapilot-controlpilot-web";
    version = "0";
    src = source;
    sourceRoot = "lorapilot-source/python/lorapilot/controlpilot/web";
    npmDeps = pkgs.importNpmLock { npmRoot = webDir; };
    npmConfigHook = pkgs.importNpmLock.npmConfigHook;
    installPhase = ''
      runHook preInstall
      cp -r ../static $out
      runHook postInstall
    '';
  };
  hasWeb = builtins.pathExists (webDir + "/package-lock.json");

  withWebAssets = final: prev: lib.optionalAttrs hasWeb {
    lorapilot = prev.lorapilot.overrideAttrs (old: {
      preBuild = (old.preBuild or "") + ''
        rm -rf python/lorapilot/controlpilot/static
        cp -r ${webAssets} python/lorapilot/controlpilot/static
        chmod -R u+w python/lorapilot/controlpilot/static
      '';
    });
  };

  mkEnv = name: extras: mkPythonEnv {
    inherit name pythonVersion;
    workspaceRoot = source;
    deps = { lorapilot = extras; };
    overlays = [ withWebAssets ];
  };
  # xformers publishes x86_64 wheels only.
  cudaExtra = lib.optional (system == "x86_64-linux") "cuda";
in
{
  inherit source;
  core = mkEnv "lorapilot" [ ];
  train = mkEnv "lorapilot-train" ([ "train" ] ++ cudaExtra);
  dev = mkEnv "lorapilot-dev" [ "train" "dev" ];
  webAssets = if hasWeb then webAssets else null;
}
