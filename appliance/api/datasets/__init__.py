"""Datasets: upload, list, read, preview, profile, delete."""
