{
  description = "stub uv2nix for LoRA Pilot's flake tests";
  inputs.nixpkgs.url = "github:stub/never-fetched";
  inputs.pyproject-nix.url = "github:stub/never-fetched";
  outputs = _: { lib.workspace.loadWorkspace = import ./workspace.nix; };
}
