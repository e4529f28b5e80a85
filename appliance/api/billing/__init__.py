"""Estimates, usage, balance and top-ups."""
