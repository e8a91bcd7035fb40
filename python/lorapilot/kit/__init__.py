"""The kit: small shared helpers every floor above may use; imports nothing of LoRA Pilot above it."""
