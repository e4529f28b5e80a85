"""Login, refresh, logout and whoami."""
