"""Sealforge appliance: API, jobs, evidence."""

__version__ = "0.1.0"
