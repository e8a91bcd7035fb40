# One isolated Python environment from one pyproject.toml + uv.lock, built with
# uv2nix from wheels. Every environment shares the same fixes (cuda.nix for the
# NVIDIA wheels, sdist.nix for the few packages published without wheels).
{ inputs, pkgs }:
let
  inherit (pkgs) lib;
  cudaFixes = import ./cuda.nix { inherit pkgs; };
  sdistFixes = import ./sdist.nix { inherit pkgs; };
in
{
  name,
  # folder with pyproject.toml and uv.lock
  workspaceRoot,
  # "3.11" or "3.12": the folder's .python-version
  pythonVersion,
  # uv2nix dependency spec; null: the project's default dependencies
  deps ? null,
  # more pyproject.nix overlays (e.g. the lorapilot package's web assets)
  overlays ? [ ],
}:
let
  python = pkgs."python${builtins.replaceStrings [ "." ] [ "" ] pythonVersion}";
  workspace = inputs.uv2nix.lib.workspace.loadWorkspace { inherit workspaceRoot; };
  lockNames = map (p: p.name) (builtins.fromTOML (builtins.readFile (workspaceRoot + "/uv.lock"))).package;
  pythonSet = (pkgs.callPackage inputs.pyproject-nix.build.packages { inherit python; }).overrideScope (
    lib.composeManyExtensions (
      [
        inputs.pyproject-build-systems.overlays.wheel
        (workspace.mkPyprojectOverlay { sourcePreference = "wheel"; })
        sdistFixes
        (cudaFixes lockNames)
      ]
      ++ overlays
    )
  );
  venv = pythonSet.mkVirtualEnv "${name}-env" (if deps == null then workspace.deps.default else deps);
in
venv.overrideAttrs (old: {
  # Several NVIDIA wheels ship the same nvidia/__init__.py stub.
  venvIgnoreCollisions = (old.venvIgnoreCollisions or [ ]) ++ [
    "${python.sitePackages}/nvidia/__init__.py"
    "${python.sitePackages}/nvidia/__pycache__/*"
  ];
  passthru = (old.passthru or { }) // {
    inherit python pythonSet workspaceRoot;
  };
})
