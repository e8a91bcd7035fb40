# Stub of uv2nix's loadWorkspace: reads the real pyproject.toml and uv.lock and
# turns every locked package into a package record (pname, version, whether a
# Linux wheel exists, dependencies and optional dependencies by name).
{ workspaceRoot }:
let
  inherit (builtins) any attrNames filter fromTOML listToAttrs map match readFile;
  pyproject = fromTOML (readFile (workspaceRoot + "/pyproject.toml"));
  lock = fromTOML (readFile (workspaceRoot + "/uv.lock"));
  project = pyproject.project.name;

  names = deps: listToAttrs (map (dep: { name = dep.name; value = dep.extra or [ ]; }) deps);
  linuxWheel = pkg: any (w: match ".*(manylinux|linux_x86_64|linux_aarch64|none-any).*" w.url != null) (pkg.wheels or [ ]);
  local = pkg: pkg.source ? virtual || pkg.source ? editable || pkg.source ? directory;

  mkPkg = attrs: attrs // {
    outPath = "/nix/store/00000000000000000000000000000000-${attrs.pname}-${attrs.version}";
    overrideAttrs = f: mkPkg (attrs // f attrs);
  };
  toPackage = pkg: {
    name = pkg.name;
    value = mkPkg {
      pname = pkg.name;
      version = pkg.version or "0";
      passthru = {
        format = if local pkg then "pyproject" else if linuxWheel pkg then "wheel" else "pyproject";
        dependencies = names (pkg.dependencies or [ ]);
        optional-dependencies = builtins.mapAttrs (_: names) (pkg.optional-dependencies or { });
      };
    };
  };
in
{
  stubCall = { fn = "loadWorkspace"; workspaceRoot = toString workspaceRoot; };
  deps.default = { ${project} = [ ]; };
  mkPyprojectOverlay = { sourcePreference, ... }: final: prev: listToAttrs (map toPackage lock.package);
}
