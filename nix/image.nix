# The OCI image: `nix build .#oci-image && ./result | docker load`.
# streamLayeredImage writes the image as a stream (nothing large in the store).
# Layers (layeringPipeline): the closure of the CUDA/torch base (Python, torch, the
# nvidia-* wheels: one store path each, shared by every environment) first, then one
# layer per environment with what of its closure is not in an earlier layer, then the
# rest by popularity. Updating one non-torch component re-pushes its own layer.
{ pkgs, package, exposedPorts, imageUser, layerRoots ? { base = [ ]; environments = [ ]; } }:
let
  inherit (pkgs) lib;
  root = imageUser == "root";
  uid = if root then "0" else "1000";
  home = if root then "/root" else "/home/lorapilot";
  # The NVIDIA container toolkit mounts the driver's libraries here; nothing else
  # lives there in this image, so putting it on LD_LIBRARY_PATH is safe.
  driverDir = if pkgs.stdenv.hostPlatform.isAarch64 then "/usr/lib/aarch64-linux-gnu" else "/usr/lib/x86_64-linux-gnu";

  # [subcomponent_out roots] splits the graph into "main" (the roots' closure: one layer)
  # and "rest", which the next step receives.
  layersFor = groups: tail:
    if groups == [ ] then tail
    else [ [ "subcomponent_out" (builtins.head groups) ] [ "over" "rest" [ "pipe" (layersFor (builtins.tail groups) tail) ] ] ];
  layeringPipeline = layersFor
    (lib.optional (layerRoots.base != [ ]) layerRoots.base ++ map (env: [ env ]) layerRoots.environments)
    [ [ "popularity_contest" ] [ "limit_layers" 60 ] ];

  config = {
    Entrypoint = [ "${package}/bin/lorapilot" "up" "--no-tui" ];
    WorkingDir = "/workspace";
    User = "${uid}:${uid}";
    Volumes = { "/workspace" = { }; };
    ExposedPorts = exposedPorts;
    Env = [
      "LORAPILOT_WORKSPACE=/workspace"
      "HOME=${home}"
      "PATH=${lib.makeBinPath [ package pkgs.coreutils pkgs.bashInteractive ]}:/usr/bin:/bin"
      "NVIDIA_VISIBLE_DEVICES=all"
      "NVIDIA_DRIVER_CAPABILITIES=compute,utility"
      "LD_LIBRARY_PATH=${driverDir}:/usr/lib64:/run/opengl-driver/lib"
      "SSL_CERT_FILE=${pkgs.cacert}/etc/ssl/certs/ca-bundle.crt"
      # The image carries the driver folder already: no host-driver discovery.
      "LORAPILOT_NO_HOST_DRIVER=1"
    ];
    Labels = {
      "org.opencontainers.image.title" = "LoRA Pilot";
      "org.opencontainers.image.description" = "Train and use diffusion LoRAs: ControlPilot, ComfyUI, InvokeAI, Kohya SS, AI Toolkit, Diffusion Pipe, TensorBoard, JupyterLab, code-server";
    };
  };
in
pkgs.dockerTools.streamLayeredImage {
  name = "lorapilot";
  tag = if root then "latest-root" else "latest";
  # cacert reaches the image through SSL_CERT_FILE (paths in config are included).
  contents = [ package pkgs.bashInteractive pkgs.coreutils ];
  # Docker allows 127 layers; stay well under it (and under the 100 budget).
  maxLayers = 90;
  inherit layeringPipeline;
  enableFakechroot = false;
  fakeRootCommands = ''
    mkdir -p ./etc ./workspace ./root ./home/lorapilot ./tmp ./usr/bin ./run/opengl-driver
    chmod 1777 ./tmp
    ln -sf ${pkgs.coreutils}/bin/env ./usr/bin/env
    printf '%s\n' 'root:x:0:0:root:/root:${pkgs.bashInteractive}/bin/bash' \
      'lorapilot:x:1000:1000:LoRA Pilot:/home/lorapilot:${pkgs.bashInteractive}/bin/bash' \
      'nobody:x:65534:65534:nobody:/var/empty:/bin/false' > ./etc/passwd
    printf '%s\n' 'root:x:0:' 'lorapilot:x:1000:' 'nogroup:x:65534:' > ./etc/group
    ${lib.optionalString (!root) "chown -R 1000:1000 ./workspace ./home/lorapilot"}
  '';
  inherit config;
}
