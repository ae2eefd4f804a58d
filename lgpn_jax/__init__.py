"""LGPN (Learnable Graph Pooling Network) for model parsing, in JAX/Flax.

Layers (docs/ARCHITECTURE.md): ``red140`` (the benchmark's facts), ``models``
(Flax modules), ``losses``, ``tasks`` (model parsing / detection /
attribution), ``train``, ``evaluation``, ``perf``; ``run`` composes training
and evaluation (``run.train_and_evaluate(config, workdir)``).

``lgpn_jax.predict(workdir, image, fold=k)`` is the Python face of
predict.py: the report of an image (or a folder, or a list of files) as a
dict (``run.prediction``, ``lgpn_jax/evaluation/predict.py``). Importing the package stays light:
nothing heavy is imported until it is called.
"""


def predict(workdir, images, **kwargs) -> dict:
  """``lgpn_jax.run.prediction``: see its doc."""
  from lgpn_jax import run
  return run.prediction(workdir, images, **kwargs)
