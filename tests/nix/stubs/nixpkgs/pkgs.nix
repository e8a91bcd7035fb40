# A stub package set: every attribute nix/ reads, as tiny real derivations that
# build offline with the host's /bin/sh. Calls that matter are recorded in
# `stubCall` (function name and arguments).
{ system, config }:
let
  lib = import ./lib.nix;
  inherit (builtins) attrNames concatStringsSep filter isAttrs isBool isInt isList isString listToAttrs toJSON;

  host = if builtins.pathExists ./host.json then builtins.fromJSON (builtins.readFile ./host.json) else { python = "/usr/bin/python3"; };

  # Derivation environments take strings, paths, numbers, booleans and lists of them.
  envSafe = set: lib.filterAttrs (_: v: isString v || isBool v || isInt v || builtins.isPath v || (isAttrs v && v ? outPath) || (isList v && builtins.all (x: isString x || (isAttrs x && x ? outPath)) v)) set;

  mkDrv = { name, script ? "mkdir -p $out", path ? [ ], env ? { } }:
    derivation (envSafe env // {
      inherit name system;
      builder = "/bin/sh";
      args = [ "-c" "set -e\n${script}" ];
      PATH = concatStringsSep ":" (map (p: "${p}/bin") path ++ [ "/usr/local/bin" "/usr/bin" "/bin" ]);
    });

  # A package with a bin/ folder holding one script per name.
  mkTool = name: bins: mkDrv {
    inherit name;
    script = "mkdir -p $out/bin\n" + lib.concatMapStrings (bin: "printf '#!/bin/sh\\necho ${name} stub\\n' > $out/bin/${bin}; chmod +x $out/bin/${bin}\n") bins;
  };

  mkPython = version: mkTool "python${version}" [ "python3" ] // {
    inherit version;
    sitePackages = "lib/python${version}/site-packages";
    interpreter = "${host.python}";
  };

  runCommand = name: env: script:
    mkDrv {
      inherit name script;
      path = env.nativeBuildInputs or [ ];
      env = removeAttrs env [ "nativeBuildInputs" "passthru" "meta" ];
    } // (env.passthru or { }) // {
      passthru = env.passthru or { };
      meta = env.meta or { };
      stubCall = { fn = "runCommand"; inherit name script; };
    };

  writeText = name: text:
    mkDrv { inherit name; script = "printf '%s' \"$text\" > $out"; env = { inherit text; }; }
    // { stubCall = { fn = "writeText"; inherit name text; }; };

  importNpmLock = {
    __functor = _: args: mkDrv { name = "npm-deps"; } // { stubCall = { fn = "importNpmLock"; npmRoot = toString args.npmRoot; }; };
    npmConfigHook = "npm-config-hook";
    buildNodeModules = args: mkDrv {
      name = "node-modules";
      # the lock's bin entries, as the real builder links them
      script = ''
        mkdir -p $out/node_modules/.bin $out/node_modules/@github/copilot-linux-x64
        printf '#!/bin/sh\necho copilot stub\n' > $out/node_modules/@github/copilot-linux-x64/copilot
        chmod +x $out/node_modules/@github/copilot-linux-x64/copilot
        ln -s ../@github/copilot-linux-x64/copilot $out/node_modules/.bin/copilot
      '';
    } // { stubCall = { fn = "importNpmLock.buildNodeModules"; npmRoot = toString args.npmRoot; }; };
  };

  pkgs = {
    inherit lib system runCommand writeText importNpmLock;
    stubConfig = config;
    runtimeShell = "/bin/sh";
    stdenv = {
      hostPlatform.isAarch64 = system == "aarch64-linux";
      cc.cc.lib = mkDrv { name = "gcc-lib"; };
      # Runs installPhase with the host's /bin/sh; records what else it was given.
      mkDerivation = attrs: mkDrv { name = attrs.pname; script = attrs.installPhase; }
        // { stubCall = { fn = "stdenv.mkDerivation"; inherit (attrs) pname; dontStrip = attrs.dontStrip or false;
                          nativeBuildInputs = map (p: p.name) (attrs.nativeBuildInputs or [ ]); }; };
    };
    autoPatchelfHook = mkDrv { name = "auto-patchelf-hook"; };

    # A folder naming what was asked for (the real one checks the tree against hash).
    fetchFromGitHub = { owner, repo, rev, hash }: mkDrv {
      name = "source";
      script = "mkdir -p $out; printf '%s' \"$what\" > $out/STUB_FETCH";
      env.what = "${owner}/${repo}@${rev} ${hash}";
    } // { stubCall = { fn = "fetchFromGitHub"; inherit owner repo rev hash; }; };

    callPackage = fn: args: (if builtins.isFunction fn then fn else import fn) args;

    python311 = mkPython "3.11";
    python312 = mkPython "3.12";

    formats.toml = _: {
      generate = name: value: mkDrv {
        inherit name;
        script = ''${host.python} -c 'import json, os, tomli_w; open(os.environ["out"], "w").write(tomli_w.dumps(json.loads(os.environ["value"])))' '';
        env.value = toJSON value;
      };
    };

    buildNpmPackage = args: mkDrv { name = args.pname; script = "mkdir -p $out/ui"; }
      // { stubCall = { fn = "buildNpmPackage"; inherit (args) pname; postPatch = args.postPatch or ""; env = args.env or { }; }; };

    dockerTools.streamLayeredImage = args: mkDrv { name = "stream-${args.name}"; script = "echo image > $out"; }
      // (args.passthru or { })
      // { stubCall = { fn = "dockerTools.streamLayeredImage"; args = removeAttrs args [ "passthru" ]; }; };

    mkShell = args: mkDrv { name = "devshell"; }
      // { stubCall = { fn = "mkShell"; nixpkgsConfig = config; packages = map (p: p.name) args.packages; env = args.env or { }; shellHook = args.shellHook or ""; }; };

    cudaPackages = {
      cuda_nvcc = mkTool "cuda-nvcc" [ "nvcc" ];
      cuda_cudart = mkDrv { name = "cuda-cudart"; script = "mkdir -p $out/lib"; };
    };
    ffmpeg = mkTool "ffmpeg" [ "ffmpeg" ] // { version = "7.1.1"; lib = mkDrv { name = "ffmpeg-lib"; }; };
    ffmpeg_7 = mkTool "ffmpeg" [ "ffmpeg" ] // { version = "7.1.1"; lib = mkDrv { name = "ffmpeg-lib"; }; };
    ffmpeg-headless = mkTool "ffmpeg-headless" [ "ffmpeg" "ffprobe" ];
    xorg.libxcb = mkDrv { name = "libxcb"; };
    rdma-core = mkDrv { name = "rdma-core"; };
    zlib = mkDrv { name = "zlib"; };
    pythonManylinuxPackages.manylinux2014 = [ (mkDrv { name = "glibc"; }) (mkDrv { name = "gcc-lib"; }) ];
    prisma-engines = mkTool "prisma-engines" [ "schema-engine" ];
    cacert = mkDrv { name = "cacert"; };
    process-compose = mkTool "process-compose" [ "process-compose" ];
    nodejs = mkTool "nodejs" [ "node" "npm" ];
    git = mkTool "git" [ "git" ];
    uv = mkTool "uv" [ "uv" ];
    coreutils = mkTool "coreutils" [ "env" ];
    bash = mkTool "bash" [ "bash" ];
    bashInteractive = mkTool "bash-interactive" [ "bash" "sh" ];
    code-server = mkTool "code-server" [ "code-server" ];
    nix = mkTool "nix" [ "nix" ];
    nixfmt = mkTool "nixfmt" [ "nixfmt" ];
    nix-tree = mkTool "nix-tree" [ "nix-tree" ];
  };
in
pkgs
