# Every output of the flake, per system, without flake-parts. The pure parts
# (lib.pins, lib.ports, lib.pinProblems, ...) use builtins only and evaluate
# offline; everything else imports nixpkgs for its system.
inputs:
let
  inherit (builtins) listToAttrs mapAttrs removeAttrs;

  pins = import ./pins.nix { root = ../.; };
  systems = [ "x86_64-linux" "aarch64-linux" ];
  forSystems = f: listToAttrs (map (system: { name = system; value = f system; }) systems);
  perSystem = forSystems (system: import ./per-system.nix { inherit inputs pins system; });
  each = attr: mapAttrs (_: outputs: outputs.${attr}) perSystem;
in
{
  lib = {
    # Pinned git sources: { component = { input, url, rev, submodules = { path = { input, url, rev } } } }.
    pins = pins.gitSources;
    ports = pins.ports;
    # Custom nodes placed in a component's tree: { comfyui = [ { name, owner, repo, rev, hash } ] }.
    customNodes = pins.customNodes;
    pythonEnvs = mapAttrs (_: env: { inherit (env) python systems; }) pins.pythonEnvs;
    # Disagreements between component pins and flake.lock; [ ] when they agree.
    pinProblems = pins.pinProblems;

    # LoRA Pilot for another flake, with overrides:
    #   lorapilot.lib.mkLorapilot { system = "x86_64-linux"; ports = { comfyui = 5556; };
    #     enabled = [ "controlpilot" "comfyui" ]; workspace = "/data/lorapilot"; }
    # returns { package, app, manifest, components, image }.
    mkLorapilot = { system ? "x86_64-linux", ... }@args: perSystem.${system}.mkLorapilot (removeAttrs args [ "system" ]);
  };

  packages = each "packages";
  apps = each "apps";
  devShells = each "devShells";
  checks = each "checks";
}
