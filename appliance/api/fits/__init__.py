"""Comparing two fits."""
