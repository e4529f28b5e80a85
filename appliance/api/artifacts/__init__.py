"""Artifacts: job outputs, content-addressed by BLAKE3."""
