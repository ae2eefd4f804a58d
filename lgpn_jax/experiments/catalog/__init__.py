"""The experiments, one module each (``EXPERIMENT``), by name.

``get(name)`` imports one; ``NAMES`` lists them in the paper's order.
"""

from __future__ import annotations

import importlib

NAMES = ('tab1_backbones_heads', 'tab2a_heads', 'tab2b_per_hyperparameter',
         'fig5b_objectives', 'tau_sensitivity', 'pooling_levels', 'red116',
         'face_nonface', 'random_gt', 'mislabelled', 'bins', 'multi_image',
         'coordinated_attack')


def get(name: str):
  """The ``spec.Experiment`` called ``name``."""
  if name not in NAMES:
    import difflib
    close = difflib.get_close_matches(name, NAMES, n=3, cutoff=0.4)
    raise ValueError(f'unknown experiment {name!r}; experiments: '
                     f'{", ".join(NAMES)}' + (f' (did you mean {close[0]}?)'
                                              if close else ''))
  return importlib.import_module(
      f'lgpn_jax.experiments.catalog.{name}').EXPERIMENT
