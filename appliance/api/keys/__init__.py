"""API keys of the caller's tenant."""
