# Each git component's source tree, from its flake input, with its submodules
# (also flake inputs) put in place. What needs building before it can run (AI
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

  plain = lib.mapAttrs withSubmodules pins.gitSources;
in
plain // lib.optionalAttrs (plain ? ai-toolkit) {
  ai-toolkit = import ./ai-toolkit-ui.nix {
    inherit pkgs;
    src = plain.ai-toolkit;
    venv = pythonEnvs.ai-toolkit or null;
  };
}
