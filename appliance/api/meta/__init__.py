"""Health, metrics and the error catalogue."""
