"""The models resource."""
