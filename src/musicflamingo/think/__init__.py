"""MF-Think: verified chain-of-thought traces and the GRPO prompt sets, built from an
MF-Skills output (see docs/think.md)."""
