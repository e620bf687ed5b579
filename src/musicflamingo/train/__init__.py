"""Training Music Flamingo: MF-SFT, CoT warm-up and GRPO on TRL (see docs/training.md)."""
