"""The users API (/v1/users)."""
