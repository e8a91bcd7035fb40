"""LoRA Pilot: one reproducible workspace for training and using diffusion LoRAs."""

__version__ = "0.1.0"
