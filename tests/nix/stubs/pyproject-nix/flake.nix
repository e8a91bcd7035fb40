{
  description = "stub pyproject.nix for LoRA Pilot's flake tests";
  inputs.nixpkgs.url = "github:stub/never-fetched";
  outputs = _: { build.packages = import ./packages.nix; };
}
