"""The `sealforge` command line."""
