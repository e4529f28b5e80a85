"""Plant models (water, chemical, power) and the registry that names them."""
