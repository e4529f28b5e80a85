"""The leaderboards resource."""
