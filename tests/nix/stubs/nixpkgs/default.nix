# `import nixpkgs { system; config; }`: the config is recorded in pkgs.stubConfig.
{ system, config ? { }, overlays ? [ ] }:
import ./pkgs.nix { inherit system config; }
