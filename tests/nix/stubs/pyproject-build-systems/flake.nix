{
  description = "stub build-system-pkgs for LoRA Pilot's flake tests";
  inputs.nixpkgs.url = "github:stub/never-fetched";
  inputs.pyproject-nix.url = "github:stub/never-fetched";
  inputs.uv2nix.url = "github:stub/never-fetched";
  outputs = _: {
    overlays.wheel = final: prev: builtins.listToAttrs (map (name: {
      inherit name;
      value = prev.${name} or {
        pname = name;
        version = "0";
        outPath = "/nix/store/00000000000000000000000000000000-${name}";
        passthru = { format = "wheel"; dependencies = { }; };
      };
    }) [ "setuptools" "wheel" "hatchling" "packaging" ]);
  };
}
