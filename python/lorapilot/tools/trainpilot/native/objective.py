"""The training losses: DDPM noise prediction (SD1/SD2/SDXL) and rectified flow (FLUX.1)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .config import OptimSettings
from .models import BaseModel


class DiffusionObjective:
    """Epsilon- or v-prediction MSE with optional noise offset and min-SNR-gamma weighting."""

    def __init__(self, model: BaseModel, optim: OptimSettings, device):
        config = model.noise_scheduler.config
        self.family = model.family
        self.num_timesteps = config.num_train_timesteps
        self.v_prediction = config.prediction_type == "v_prediction"
        alphas_cumprod = model.noise_scheduler.alphas_cumprod.to(device=device, dtype=torch.float32)
        self.sqrt_alpha = alphas_cumprod.sqrt()
        self.sqrt_one_minus_alpha = (1.0 - alphas_cumprod).sqrt()
        self.snr = alphas_cumprod / (1.0 - alphas_cumprod)
        self.min_snr_gamma = optim.min_snr_gamma
        self.noise_offset = optim.noise_offset
        self.device = device

    def __call__(self, denoiser, latents: torch.Tensor, cond: dict[str, torch.Tensor]) -> torch.Tensor:
        batch = latents.shape[0]
        noise = torch.randn_like(latents)
        if self.noise_offset:
            noise = noise + self.noise_offset * torch.randn(
                (batch, latents.shape[1], 1, 1), device=latents.device, dtype=latents.dtype
            )
        timesteps = torch.randint(0, self.num_timesteps, (batch,), device=latents.device)
        a = self.sqrt_alpha[timesteps].view(-1, 1, 1, 1)
        s = self.sqrt_one_minus_alpha[timesteps].view(-1, 1, 1, 1)
        noisy = a * latents + s * noise
        target = a * noise - s * latents if self.v_prediction else noise
        added = None
        if self.family == "sdxl":
            added = {"text_embeds": cond["text_embeds"], "time_ids": cond["time_ids"]}
        pred = denoiser(
            noisy, timesteps, encoder_hidden_states=cond["encoder_hidden_states"], added_cond_kwargs=added
        ).sample
        loss = F.mse_loss(pred.float(), target.float(), reduction="none").mean(dim=(1, 2, 3))
        if self.min_snr_gamma:
            snr = self.snr[timesteps]
            weight = snr.clamp(max=self.min_snr_gamma) / (snr + 1 if self.v_prediction else snr)
            loss = loss * weight
        return loss.mean()


def pack_latents(latents: torch.Tensor) -> torch.Tensor:
    """[B, C, H, W] -> [B, H/2 * W/2, C*4]: FLUX.1 sees latents as a sequence of 2x2 patches."""
    b, c, h, w = latents.shape
    x = latents.view(b, c, h // 2, 2, w // 2, 2).permute(0, 2, 4, 1, 3, 5)
    return x.reshape(b, (h // 2) * (w // 2), c * 4)


def unpack_latents(packed: torch.Tensor, height: int, width: int) -> torch.Tensor:
    b, _, d = packed.shape
    c = d // 4
    x = packed.view(b, height // 2, width // 2, c, 2, 2).permute(0, 3, 1, 4, 2, 5)
    return x.reshape(b, c, height, width)


def image_ids(height: int, width: int, device, dtype) -> torch.Tensor:
    """FLUX.1 positions of the 2x2 latent patches: (0, row, column)."""
    ids = torch.zeros(height // 2, width // 2, 3)
    ids[..., 1] = torch.arange(height // 2)[:, None]
    ids[..., 2] = torch.arange(width // 2)[None, :]
    return ids.reshape(-1, 3).to(device=device, dtype=dtype)


class FlowObjective:
    """FLUX.1 rectified flow: x_t = (1 - t) x_0 + t noise, predict (noise - x_0).

    t is sigmoid(normal) shifted by the image's sequence length the way BFL's sampler shifts it
    (kohya's ``timestep_sampling = "flux_shift"``); the guidance input of FLUX.1-dev gets
    ``guidance`` (1.0 is what kohya and diffusers train with).
    """

    def __init__(self, model: BaseModel, optim: OptimSettings, device, guidance: float = 1.0):
        self.guidance_embeds = bool(model.denoiser.config.get("guidance_embeds", False))
        self.guidance = guidance
        self.noise_offset = optim.noise_offset
        self.device = device

    @staticmethod
    def shift_mu(sequence_length: int) -> float:
        # Linear in the number of patches between 256 (mu 0.5) and 4096 (mu 1.15).
        slope = (1.15 - 0.5) / (4096 - 256)
        return 0.5 + slope * (sequence_length - 256)

    def sample_t(self, batch: int, sequence_length: int, device) -> torch.Tensor:
        u = torch.sigmoid(torch.randn(batch, device=device))
        mu = self.shift_mu(sequence_length)
        return math.exp(mu) / (math.exp(mu) + (1 / u - 1))

    def __call__(self, denoiser, latents: torch.Tensor, cond: dict[str, torch.Tensor]) -> torch.Tensor:
        b, c, h, w = latents.shape
        noise = torch.randn_like(latents)
        if self.noise_offset:
            noise = noise + self.noise_offset * torch.randn((b, c, 1, 1), device=latents.device, dtype=latents.dtype)
        t = self.sample_t(b, (h // 2) * (w // 2), latents.device)
        sigma = t.view(-1, 1, 1, 1)
        noisy = (1.0 - sigma) * latents + sigma * noise
        hidden = cond["encoder_hidden_states"]
        guidance = None
        if self.guidance_embeds:
            guidance = torch.full((b,), self.guidance, device=latents.device, dtype=torch.float32)
        pred = denoiser(
            hidden_states=pack_latents(noisy),
            timestep=t,
            guidance=guidance,
            pooled_projections=cond["pooled_projections"],
            encoder_hidden_states=hidden,
            txt_ids=torch.zeros(hidden.shape[1], 3, device=latents.device, dtype=hidden.dtype),
            img_ids=image_ids(h, w, latents.device, hidden.dtype),
            return_dict=False,
        )[0]
        pred = unpack_latents(pred, h, w)
        return F.mse_loss(pred.float(), (noise - latents).float())


def make_objective(model: BaseModel, optim: OptimSettings, device):
    if model.family == "flux1":
        return FlowObjective(model, optim, device)
    return DiffusionObjective(model, optim, device)
