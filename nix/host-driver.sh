# Sourced by the app wrapper and the dev shell: make the host's NVIDIA driver
# (libcuda.so.1 and friends) visible to Nix-built programs.
#
# NixOS links the driver into /run/opengl-driver/lib, which the CUDA wheels'
# runpath already names. Other distributions keep it among the system libraries
# (/usr/lib/x86_64-linux-gnu, ...); putting that folder on LD_LIBRARY_PATH would
# let the host's libc and libstdc++ shadow Nix's. So only the driver's own files
# are linked into a private folder, and that folder goes on LD_LIBRARY_PATH.
#
# LORAPILOT_NO_HOST_DRIVER=1 skips this (the OCI image sets its own path);
# LORAPILOT_DRIVER_DIRS overrides the folders searched.
if [ -z "${LORAPILOT_NO_HOST_DRIVER:-}" ] && [ ! -e /run/opengl-driver/lib/libcuda.so.1 ]; then
  for lorapilot_dir in ${LORAPILOT_DRIVER_DIRS:-/usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib /usr/lib/wsl/lib}; do
    if [ -e "$lorapilot_dir/libcuda.so.1" ]; then
      lorapilot_driver="${XDG_RUNTIME_DIR:-/tmp}/lorapilot-driver-$(id -u)"
      mkdir -p "$lorapilot_driver"
      for lorapilot_lib in "$lorapilot_dir"/libcuda.so* "$lorapilot_dir"/libnvidia-*.so* \
          "$lorapilot_dir"/libnvcuvid.so* "$lorapilot_dir"/libcudadebugger.so*; do
        if [ -e "$lorapilot_lib" ]; then ln -sf "$lorapilot_lib" "$lorapilot_driver/"; fi
      done
      export LD_LIBRARY_PATH="$lorapilot_driver${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
      break
    fi
  done
  unset lorapilot_dir lorapilot_lib lorapilot_driver
fi
