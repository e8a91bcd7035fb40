# Each git component's source tree, from its flake input, with its submodules
# (also flake inputs) put in place, and its pinned custom nodes (custom-nodes.toml, fetched
# from GitHub by their NAR hash) in custom_nodes/<name>. What needs building before it can run (AI
# Toolkit's Next.js UI) is built here, so the tree in the store is complete.
{ inputs, pkgs, pins, pythonEnvs }:
let
  inherit (pkgs) lib;

  withSubmodules = name: pin:
    if pin.submodules == { } then inputs.${pin.input}
    else
      pkgs.runCommand "${name}-src" { } (''
        cp -r ${inputs.${pin.input}} $out
        chmod -R u+w $out
      '' + lib.concatMapStrings (sub: ''
        rm -rf "$out/${sub.path}"
        mkdir -p "$(dirname "$out/${sub.path}")"
        cp -r ${inputs.${sub.input}} "$out/${sub.path}"
        chmod -R u+w "$out/${sub.path}"
      '') (lib.attrValues pin.submodules));

  withCustomNodes = name: src:
    let nodes = pins.customNodes.${name} or [ ]; in
    if nodes == [ ] then src
    else
      pkgs.runCommand "${name}-with-nodes-src" { } (''
        cp -r ${src} $out
        chmod -R u+w $out
        mkdir -p $out/custom_nodes
      '' + lib.concatMapStrings (node: ''
        cp -r ${pkgs.fetchFromGitHub { inherit (node) owner repo rev hash; }} "$out/custom_nodes/${node.name}"
        chmod -R u+w "$out/custom_nodes/${node.name}"
      '') nodes);

  plain = lib.mapAttrs (name: pin: withCustomNodes name (withSubmodules name pin)) pins.gitSources;
in
plain // lib.optionalAttrs (plain ? ai-toolkit) {
  ai-toolkit = import ./ai-toolkit-ui.nix {
    inherit pkgs;
    src = plain.ai-toolkit;
    venv = pythonEnvs.ai-toolkit or null;
  };
}
