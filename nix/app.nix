# mkLorapilot: LoRA Pilot wired to its Nix-built environments. Nix only decides
# what is installed (the manifest); Python decides how it runs (`lorapilot up`,
# `lorapilot render`), so nothing here renders process configuration.
{ pkgs, pins, envs, sources, lorapilot }:
{
  # { component = port }: replaces component.toml's port
  ports ? { },
  # list of service names to keep; null keeps all of them
  enabled ? null,
  # default workspace when neither --workspace nor LORAPILOT_WORKSPACE is given
  workspace ? null,
  # the OCI image's user: "lorapilot" (uid 1000) or "root" (RunPod)
  imageUser ? "lorapilot",
}:
let
  inherit (pkgs) lib;
  inherit (lib) mapAttrs filterAttrs;

  unknown = lib.subtractLists (lib.attrNames pins.services) (lib.attrNames ports ++ (if enabled == null then [ ] else enabled));
  services = filterAttrs (name: _: enabled == null || lib.elem name enabled) pins.services;
  portOf = name: ports.${name} or services.${name}.port;

  # The component specs `lorapilot` reads (LORAPILOT_COMPONENTS): the repository's,
  # or, with overrides, a copy with ports replaced and disabled services left out.
  componentsDir =
    let
      plain = builtins.path { path = ../components; name = "lorapilot-components"; };
      toml = pkgs.formats.toml { };
      changed = mapAttrs (name: spec: toml.generate "${name}-component.toml" ((removeAttrs spec [ "kind" ]) // { port = portOf name; }))
        (filterAttrs (name: _: ports ? ${name}) services);
      dropped = lib.attrNames (filterAttrs (name: _: !(services ? ${name})) pins.services);
    in
    if ports == { } && enabled == null then plain
    else
      pkgs.runCommand "lorapilot-components" { } (''
        cp -r ${plain} $out
        chmod -R u+w $out
      '' + lib.concatMapStrings (name: "rm $out/${name}/component.toml\n") dropped
        + lib.concatStrings (lib.mapAttrsToList (name: file: "cp ${file} $out/${name}/component.toml\n") changed));

  # The environments of the enabled services, and every environment that is no service
  # (Diffusion Pipe: a trainer TrainPilot runs). The manifest is what the package (and
  # the image) references, so a disabled component's environment is not in them at all.
  keptEnvs = filterAttrs (name: _: enabled == null || lib.elem name enabled || !(pins.services ? ${name})) envs;

  # component -> { env, src }: what lorapilot.stack.component_paths reads from LORAPILOT_MANIFEST.
  manifestData = {
    lorapilot_python = "${lorapilot.core}/bin/python";
    components =
      mapAttrs (name: env: { env = "${env}"; } // lib.optionalAttrs (sources ? ${name}) { src = "${sources.${name}}"; }) keptEnvs
      // { lorapilot-train.env = "${lorapilot.train}"; };
  };
  manifest = pkgs.writeText "lorapilot-manifest.json" (builtins.toJSON manifestData);

  # ffmpeg-headless: ffprobe/ffmpeg for TagPilot's video clips (facts, thumbnails, frame extraction).
  runtimePath = [ pkgs.process-compose pkgs.nodejs pkgs.git pkgs.coreutils pkgs.bash pkgs.ffmpeg-headless ];
  environment = ''
    export LORAPILOT_MANIFEST=''${LORAPILOT_MANIFEST:-${manifest}}
    export LORAPILOT_COMPONENTS=''${LORAPILOT_COMPONENTS:-${componentsDir}}
    export PATH=${lib.makeBinPath runtimePath}''${PATH:+:$PATH}
    ${lib.optionalString (workspace != null) "export LORAPILOT_WORKSPACE=\${LORAPILOT_WORKSPACE:-${workspace}}"}
    . ${./host-driver.sh}
  '';

  package = pkgs.runCommand "lorapilot" {
    passthru = { inherit manifest manifestData componentsDir sources; envs = keptEnvs; };
    meta.mainProgram = "lorapilot";
  } ''
    mkdir -p $out/bin $out/share/lorapilot
    cp ${manifest} $out/share/lorapilot/manifest.json
    cat > $out/bin/lorapilot <<'SH'
    #!${pkgs.runtimeShell}
    ${environment}
    exec ${lorapilot.core}/bin/lorapilot "$@"
    SH
    cat > $out/bin/lorapilot-up <<'SH'
    #!${pkgs.runtimeShell}
    # `nix run .#lorapilot`: start everything under process-compose (its TUI on a terminal).
    exec "$(dirname "$0")/lorapilot" up "$@"
    SH
    chmod +x $out/bin/lorapilot $out/bin/lorapilot-up
  '';

  exposedPorts = lib.mapAttrs' (name: spec: lib.nameValuePair "${toString (portOf name)}/tcp" { })
    (filterAttrs (_: spec: !(spec.loopback_only or false)) services);

  # Layers: the CUDA/torch base (one torch for every environment), then each environment's
  # own closure: LoRA Pilot's first (the Python packages many share land there), then the
  # components (docs/delivery.md, oci/estimate-size.py).
  layerRoots = {
    base = [ lorapilot.train.passthru.python ] ++ lib.optional (lorapilot.train.passthru.pythonSet ? torch) lorapilot.train.passthru.pythonSet.torch;
    environments = [ lorapilot.core lorapilot.train ] ++ lib.attrValues keptEnvs;
  };
  image = import ./image.nix { inherit pkgs package exposedPorts imageUser layerRoots; };
in
assert lib.assertMsg (unknown == [ ]) "mkLorapilot: unknown component(s) ${toString unknown}; known: ${toString (lib.attrNames pins.services)}";
{
  inherit package manifest manifestData componentsDir image;
  app = { type = "app"; program = "${package}/bin/lorapilot-up"; };
  # The static process-compose configuration for a /workspace machine with a GPU,
  # rendered by `lorapilot render` itself.
  processComposeConfig = pkgs.runCommand "process-compose.yaml" { nativeBuildInputs = [ package ]; } ''
    export HOME=$TMPDIR LORAPILOT_NO_HOST_DRIVER=1
    lorapilot render process-compose --workspace ${if workspace == null then "/workspace" else workspace} --gpu yes > $out
    grep -q '^processes:' $out
  '';
}
