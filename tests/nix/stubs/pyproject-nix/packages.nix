# Stub of pyproject.nix's build.packages: a fixed-point package scope with
# overrideScope, resolveVirtualEnv, resolveBuildSystem and mkVirtualEnv.
# mkVirtualEnv builds a real (tiny) environment whose bin/python runs the host
# interpreter, and records every package it would contain, with the attributes
# the overlays set (stubPackages).
{ python, ... }:
let
  inherit (builtins) attrNames concatStringsSep filter foldl' genericClosure isAttrs isBool isInt isList isString listToAttrs toJSON;

  closure = set: spec: genericClosure {
    startSet = map (name: { key = name; extras = spec.${name}; }) (attrNames spec);
    operator = item:
      let
        pkg = set.${item.key};
        deps = foldl' (acc: extra: acc // (pkg.passthru.optional-dependencies.${extra} or { })) (pkg.passthru.dependencies or { }) item.extras;
      in
      map (name: { key = name; extras = deps.${name}; }) (filter (name: set ? ${name}) (attrNames deps));
  };

  envSafe = set: listToAttrs (map (name: { inherit name; value = set.${name}; })
    (filter (name: let v = set.${name}; in isString v || isBool v || isInt v || (isList v && builtins.all isString v)) (attrNames set)));

  record = pkg: {
    inherit (pkg) pname version;
    format = pkg.passthru.format or null;
    autoPatchelfIgnoreMissingDeps = pkg.autoPatchelfIgnoreMissingDeps or [ ];
    appendRunpaths = pkg.appendRunpaths or [ ];
    preFixup = pkg.preFixup or "";
    nativeBuildInputs = map (d: d.pname or d.name or "?") (pkg.nativeBuildInputs or [ ]);
    buildInputs = map toString (pkg.buildInputs or [ ]);
    env = envSafe (removeAttrs pkg [ "pname" "version" "preFixup" "outPath" "name" ]);
  };

  mkVenv = attrs:
    let
      drv = derivation (envSafe attrs // {
        inherit (attrs) name;
        inherit (python) system;
        builder = "/bin/sh";
        PATH = "/usr/bin:/bin";
        args = [ "-c" ''
          mkdir -p $out/bin
          printf '#!/bin/sh\nexec %s "$@"\n' "${python.interpreter}" > $out/bin/python
          printf '#!/bin/sh\nexec %s -m lorapilot "$@"\n' "${python.interpreter}" > $out/bin/lorapilot
          chmod +x $out/bin/python $out/bin/lorapilot
          printf '%s' "$stubPackagesJSON" > $out/stub-packages.json
        '' ];
        stubPackagesJSON = toJSON attrs.stubPackages;
      });
    in
    drv // (attrs.passthru or { }) // {
      inherit (attrs) stubPackages;
      passthru = attrs.passthru or { };
      venvIgnoreCollisions = attrs.venvIgnoreCollisions or [ ];
      overrideAttrs = f: mkVenv (attrs // f attrs);
    };

  base = final: {
    inherit python;
    pythonPkgsBuildHost = final;
    resolveBuildSystem = spec: map (name: final.${name}) (attrNames spec);
    resolveVirtualEnv = spec: map (item: final.${item.key}) (closure final spec);
    mkVirtualEnv = name: spec:
      mkVenv {
        inherit name;
        stubSpec = spec;
        stubPackages = map (item: record final.${item.key}) (closure final spec);
      };
  };

  scope = overlay:
    let final = let prev = base final; in prev // overlay final prev; in
    final // { overrideScope = more: scope (f: p: let a = overlay f p; in a // more f (p // a)); };
in
scope (_: _: { })
