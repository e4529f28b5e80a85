"""Witnesses of the seal log and their cosignatures on its checkpoints."""
