"""What a trained fold is, fixed by its first run.

A fold folder (``<workdir>/fold<k>/``) is defined by the config fields that
change the model, the graph, the data or the labels: ``IDENTITY`` (dotted
paths; a path names a whole section unless a field of it is listed in
``RUNTIME``, the fields a later run may change: how long, how often to log or
save, how to parallelise or evaluate). The first run of a fold writes its
config.json and adjacency.npy; every later train.py, eval.py or predict.py
on that fold compares its command-line config with the saved one and stops,
naming every disagreeing field and both values, instead of overwriting the
fold or silently evaluating a different setting. ``override=True`` (eval.py
/ predict.py ``--override_fold_config``) lets the command line win for an
evaluation; the differences are returned so the report can record them.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from lgpn_jax import rundir

IDENTITY = ('seed', 'fold', 'task', 'task_data', 'data.dataset',
            'data.protocol', 'data.image_size', 'data.synthetic_image_size',
            'data.images_per_gm', 'data.num_real', 'graph', 'model', 'loss',
            'train', 'selection', 'labels')
RUNTIME = {
    'model': ('bn_axis_name', 'remat', 'fold_bn', 'init_from'),
    'selection': ('test_group',),   # which test GMs an evaluation scores.
    'train': ('num_steps', 'num_epochs', 'log_every', 'checkpoint_every',
              'keep_checkpoints', 'eval_batch_size', 'run_evaluation',
              'parallel', 'resume_data'),
}


class FoldMismatch(ValueError):
  """A command-line config that disagrees with a fold's saved config."""


def _get(tree: Mapping, path: str):
  node: Any = tree
  for part in path.split('.'):
    if not isinstance(node, Mapping) or part not in node:
      return None
    node = node[part]
  return node


def _flatten(value, prefix: str) -> dict[str, Any]:
  if isinstance(value, Mapping):
    out = {}
    for k, v in value.items():
      out.update(_flatten(v, f'{prefix}.{k}'))
    return out
  return {prefix: json.loads(json.dumps(value, default=str))}


def defining(config) -> dict[str, Any]:
  """{dotted field: JSON value} of every field that defines a fold."""
  tree = config.to_dict() if hasattr(config, 'to_dict') else dict(config)
  out = {}
  for path in IDENTITY:
    value = _get(tree, path)
    skip = set(RUNTIME.get(path, ()))
    if isinstance(value, Mapping):
      value = {k: v for k, v in value.items() if k not in skip}
    out.update(_flatten(value, path))
  return out


def differences(saved, given) -> list[tuple[str, Any, Any]]:
  """(field, saved value, given value) of every defining field that differs."""
  a, b = defining(saved), defining(given)
  return [(k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b))
          if a.get(k) != b.get(k)]


def describe(diffs) -> str:
  return '; '.join(f'{k}: fold {a!r}, command line {b!r}' for k, a, b in diffs)


def check(config, fold_dir: str, *, override: bool = False,
          action: str = 'train') -> list[tuple[str, Any, Any]]:
  """Compares ``config`` with the fold's saved config (nothing to compare
  when the fold has none yet). Raises FoldMismatch unless ``override``;
  returns the differences."""
  if not rundir.has_config(fold_dir):
    return []
  diffs = differences(rundir.load_fold_config(fold_dir), config)
  if diffs and not override:
    how = ('use another --workdir, or the fold\'s own config' if action ==
           'train' else 'pass the fold\'s config, or --override_fold_config '
           'to evaluate with the command line\'s values')
    raise FoldMismatch(
        f'{fold_dir} was trained with another config ({describe(diffs)}): '
        f'{how}')
  return diffs
