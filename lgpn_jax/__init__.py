"""LGPN (Learnable Graph Pooling Network) for model parsing, in JAX/Flax.

Layers (docs/ARCHITECTURE.md): ``red140`` (the benchmark's facts), ``models``
(Flax modules), ``losses``, ``tasks`` (model parsing / detection /
attribution), ``train``, ``evaluation``, ``perf``; ``run`` composes training
and evaluation (``run.train_and_evaluate(config, workdir)``).
"""
