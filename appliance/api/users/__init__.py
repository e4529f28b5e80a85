"""Users of the caller's tenant (people who log in with a password)."""
