{
  description = "stub nixpkgs for LoRA Pilot's flake tests";
  outputs = _: { lib = import ./lib.nix; };
}
