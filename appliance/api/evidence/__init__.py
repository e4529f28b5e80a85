"""Evidence bundles and the public keys that sign them."""
