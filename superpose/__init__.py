"""superpose: toy models of superposition in JAX."""
