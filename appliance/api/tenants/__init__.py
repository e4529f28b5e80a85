"""The caller's tenant."""
