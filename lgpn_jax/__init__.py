"""LGPN (Learnable Graph Pooling Network) for model parsing, in JAX/Flax."""
