{
  description = "LoRA Pilot: one reproducible workspace for training and using diffusion LoRAs";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

    pyproject-nix = {
      url = "github:pyproject-nix/pyproject.nix";
      inputs.nixpkgs.follows = "nixpkgs";
    };
    uv2nix = {
      url = "github:pyproject-nix/uv2nix";
      inputs.pyproject-nix.follows = "pyproject-nix";
      inputs.nixpkgs.follows = "nixpkgs";
    };
    pyproject-build-systems = {
      url = "github:pyproject-nix/build-system-pkgs";
      inputs.pyproject-nix.follows = "pyproject-nix";
      inputs.uv2nix.follows = "uv2nix";
      inputs.nixpkgs.follows = "nixpkgs";
    };

    # Component sources, at the revs their components/<name>/component.toml (or
    # environment.toml) pins; a submodule is "<component>-<folder>". The revs are
    # in the URLs, so `nix flake update` re-locks without moving them.
    ai-toolkit = { url = "github:ostris/ai-toolkit/6c0d1c4679cf8fe153ef56bdc779c93239e1cf0f"; flake = false; };
    comfyui = { url = "github:Comfy-Org/ComfyUI/a125cd84b054a57729b5eecab930ca9408719832"; flake = false; };
    diffusion-pipe = { url = "github:tdrussell/diffusion-pipe/a7e7decf4325c1f03e4b88b7de93640029abd011"; flake = false; };
    diffusion-pipe-comfyui = { url = "github:comfyanonymous/ComfyUI/0ba903bd5bab918477f9adb290f35fdb907dc703"; flake = false; };
    diffusion-pipe-cosmos = { url = "github:NVIDIA/Cosmos/a6e2fdd49053ae75836cedc2a99c7c84bc1c8c1b"; flake = false; };
    diffusion-pipe-flow = { url = "github:lodestone-rock/flow/b79cc9425f6097e991c651ae118cd2802d323022"; flake = false; };
    diffusion-pipe-hidream = { url = "github:HiDream-ai/HiDream-I1/265862415cd602fc675ad4d8d71be161e9bb0171"; flake = false; };
    diffusion-pipe-hunyuanimage-2-1 = { url = "github:Tencent-Hunyuan/HunyuanImage-2.1/0c44d1eda754edd42e69bde984251988fee7a4dc"; flake = false; };
    diffusion-pipe-hunyuanvideo = { url = "github:Tencent/HunyuanVideo/c4a9d7708dac7c930181c9e147d0092dffa36f92"; flake = false; };
    diffusion-pipe-ltx-video = { url = "github:Lightricks/LTX-Video/27de2ef3a2bcc9549624886454059cdf013d3899"; flake = false; };
    diffusion-pipe-lumina-2 = { url = "github:Alpha-VLLM/Lumina-Image-2.0/09362957c2ce37407c7982fea742a8a72686b882"; flake = false; };
    diffusion-pipe-omnigen2 = { url = "github:VectorSpaceLab/OmniGen2/d8d2b0bf051b7677bc6b81ef34699b0f97663aa6"; flake = false; };
    kohya = { url = "github:bmaltais/kohya_ss/4161d1d80ad554f7801c584632665d6825994062"; flake = false; };
    kohya-sd-scripts = { url = "github:kohya-ss/sd-scripts/3e6935a07edcb944407840ef74fcaf6fcad352f7"; flake = false; };
  };

  outputs = inputs: import ./nix/outputs.nix inputs;
}
