"""Seals: the tamper-evident log of every sealed result."""
