# AI Toolkit's UI (ui/: Next.js + a job worker + Prisma/SQLite), built from its own
# package-lock.json with importNpmLock. The result is the whole AI Toolkit tree with
# ui/node_modules, ui/.next and ui/dist in place, which is what component.toml runs.
#
# Two changes make it build and run from the read-only store:
# - next/font/google downloads fonts at build time (no network in the sandbox):
#   the layout uses the system font stack instead of Inter;
# - Prisma's SQLite file is "../../aitk_db.db" (inside the tree): it is read from
#   DATABASE_URL instead, which component.toml points at the component's state dir.
# The job worker runs `<tree>/.venv/bin/python run.py`: .venv is AI Toolkit's environment.
{ pkgs, src, venv }:
let
  inherit (pkgs) lib;
  ui = pkgs.buildNpmPackage {
    pname = "ai-toolkit-ui";
    version = "0-unstable";
    inherit src;
    sourceRoot = "${src.name or "source"}/ui";
    npmDeps = pkgs.importNpmLock { npmRoot = "${src}/ui"; };
    npmConfigHook = pkgs.importNpmLock.npmConfigHook;
    nodejs = pkgs.nodejs;
    # Prisma's engines come from nixpkgs instead of a download at build time.
    env = {
      PRISMA_QUERY_ENGINE_LIBRARY = "${pkgs.prisma-engines}/lib/libquery_engine.node";
      PRISMA_SCHEMA_ENGINE_BINARY = "${pkgs.prisma-engines}/bin/schema-engine";
      PRISMA_ENGINES_CHECKSUM_IGNORE_MISSING = "1";
      NEXT_TELEMETRY_DISABLED = "1";
    };
    postPatch = ''
      substituteInPlace prisma/schema.prisma --replace-fail 'url      = "file:../../aitk_db.db"' 'url      = env("DATABASE_URL")'
      substituteInPlace src/app/layout.tsx \
        --replace-fail "import { Inter } from 'next/font/google';" "" \
        --replace-fail "const inter = Inter({ subsets: ['latin'] });" "const inter = { className: 'font-sans' };"
    '';
    buildPhase = ''
      runHook preBuild
      npx prisma generate
      npm run build
      runHook postBuild
    '';
    installPhase = ''
      runHook preInstall
      mkdir -p $out
      cp -r . $out/ui
      runHook postInstall
    '';
    dontNpmPrune = true;
  };
in
pkgs.runCommand "ai-toolkit-src" { passthru = { inherit ui; }; } ''
  cp -r ${src} $out
  chmod -R u+w $out
  rm -rf $out/ui
  cp -r ${ui}/ui $out/ui
  ${pkgs.lib.optionalString (venv != null) "ln -s ${venv} $out/.venv"}
''
