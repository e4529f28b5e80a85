"""/v1/connectors: sources and destinations on the plant network (issue #21)."""
