"""The layout of a run directory: every path is made here, nowhere else.

  <workdir>/
    eval_all_folds[_images<n>].json   mean +- std over the evaluated folds
    fold<k>/
      config.json           the config of the fold's run
      adjacency.npy         [55, 55] float32 correlation graph it trained with
      checkpoints/<step>/   orbax (lgpn_jax/checkpoint.py)
      checkpoints_selected/ the released model selection's checkpoint, and
      selection.json        its scores (train.selection='released')
      metrics.jsonl         training log rows; tensorboard/ the same scalars
      regression.npz        the fitted continuous regression stage
      seen_outputs.npz      node probabilities of the training split (cached)
      eval_fold<k>[_images<n>][_<tag>].json   model-parsing evaluation
      test_predictions_fold<k>[_images<n>][_<tag>].npz   its per-image
                            test predictions
      imported_weights.json the origin of weights convert.py imported
      inference.jax_export  the inference function as StableHLO (export.py)
      eval_<task>.json      detection / attribution evaluation
      plots/                PNG figures of the evaluation

Files are written whole or not at all (``lgpn_jax/files.py``).
"""

from __future__ import annotations

import os
import re

import ml_collections
import numpy as np

from lgpn_jax import files
from lgpn_jax.red140.folds import NUM_FOLDS

CONFIG_JSON = 'config.json'
ADJACENCY_NPY = 'adjacency.npy'
CHECKPOINTS = 'checkpoints'
SELECTED = 'checkpoints_selected'
SELECTION_JSON = 'selection.json'
METRICS_JSONL = 'metrics.jsonl'
TENSORBOARD = 'tensorboard'
REGRESSION_NPZ = 'regression.npz'
SEEN_NPZ = 'seen_outputs.npz'
PLOTS = 'plots'
IMPORTED_JSON = 'imported_weights.json'
EXPORT = 'inference.jax_export'


def fold_dir(workdir: str, fold: int) -> str:
  return os.path.join(os.fspath(workdir), f'fold{fold}')


def fold_of(fold_dir_path: str, default: int | None = None) -> int:
  """k of a directory named ``fold<k>`` (``default`` for other names)."""
  m = re.fullmatch(r'fold(\d+)',
                   os.path.basename(os.path.normpath(fold_dir_path)))
  if m:
    return int(m.group(1))
  if default is None:
    raise ValueError(f'cannot tell the fold of {fold_dir_path!r} (expected '
                     'a directory named fold<k>)')
  return default


def present_folds(workdir: str) -> list[int]:
  """The k of every ``fold<k>`` directory under ``workdir``."""
  return [k for k in range(1, NUM_FOLDS + 1)
          if os.path.isdir(fold_dir(workdir, k))]


def checkpoint_dir(fold_dir_path: str, selected: bool = False) -> str:
  """The orbax directory of the fold's checkpoints (``selected``: the
  released model selection's)."""
  return os.path.join(os.path.abspath(fold_dir_path),
                      SELECTED if selected else CHECKPOINTS)


def init_report_path(fold_dir_path: str) -> str:
  """What model.init_from loaded (mapped / ignored / missing keys)."""
  return os.path.join(fold_dir_path, 'init_from.txt')


def selection_path(fold_dir_path: str) -> str:
  return os.path.join(fold_dir_path, SELECTION_JSON)


def metrics_path(fold_dir_path: str) -> str:
  return os.path.join(fold_dir_path, METRICS_JSONL)


def tensorboard_dir(fold_dir_path: str) -> str:
  return os.path.join(fold_dir_path, TENSORBOARD)


def regression_path(fold_dir_path: str) -> str:
  return os.path.join(os.fspath(fold_dir_path), REGRESSION_NPZ)


def seen_path(fold_dir_path: str) -> str:
  return os.path.join(fold_dir_path, SEEN_NPZ)


def plots_dir(fold_dir_path: str) -> str:
  return os.path.join(fold_dir_path, PLOTS)


def _images_suffix(num_images: int) -> str:
  return '' if num_images == 1 else f'_images{num_images}'


def _eval_suffix(num_images: int, tag: str) -> str:
  return _images_suffix(num_images) + (f'_{tag}' if tag else '')


def eval_path(workdir: str, fold: int, num_images: int = 1,
              tag: str = '') -> str:
  """Model parsing's per-fold evaluation JSON; ``tag`` names another
  evaluation of the same fold (e.g. 'concat', 'test-face')."""
  return os.path.join(fold_dir(workdir, fold),
                      f'eval_fold{fold}{_eval_suffix(num_images, tag)}.json')


def predictions_path(workdir: str, fold: int, num_images: int = 1,
                     tag: str = '') -> str:
  """The per-image test predictions of ``eval_path``'s evaluation."""
  return os.path.join(
      fold_dir(workdir, fold),
      f'test_predictions_fold{fold}{_eval_suffix(num_images, tag)}.npz')


def imported_weights_path(fold_dir_path: str) -> str:
  return os.path.join(fold_dir_path, IMPORTED_JSON)


def export_path(fold_dir_path: str) -> str:
  return os.path.join(fold_dir_path, EXPORT)


def task_eval_path(workdir: str, fold: int, task: str) -> str:
  """Detection / attribution evaluation JSON of a fold directory."""
  return os.path.join(fold_dir(workdir, fold), f'eval_{task}.json')


def aggregate_path(workdir: str, num_images: int = 1) -> str:
  return os.path.join(os.fspath(workdir),
                      f'eval_all_folds{_images_suffix(num_images)}.json')


# ------------------------------------------------------------ fold files
def save_fold_files(fold_dir_path: str, config: ml_collections.ConfigDict,
                    adjacency: np.ndarray) -> None:
  """Writes config.json and adjacency.npy (call on process 0 only)."""
  files.write_text(config.to_json(indent=2, sort_keys=True),
                   os.path.join(fold_dir_path, CONFIG_JSON))
  files.save_npy(adjacency_path(fold_dir_path),
                 np.asarray(adjacency, np.float32))


def has_config(fold_dir_path: str) -> bool:
  return os.path.exists(os.path.join(fold_dir_path, CONFIG_JSON))


def load_fold_config(fold_dir_path: str) -> ml_collections.ConfigDict:
  """The config a fold was trained with (from its config.json)."""
  path = os.path.join(fold_dir_path, CONFIG_JSON)
  if not os.path.exists(path):
    raise FileNotFoundError(f'{path} does not exist: {fold_dir_path} is not '
                            'a trained fold directory')
  return ml_collections.ConfigDict(files.read_json(path))


def adjacency_path(fold_dir_path: str) -> str:
  return os.path.join(fold_dir_path, ADJACENCY_NPY)


def load_adjacency(fold_dir_path: str) -> np.ndarray:
  """The [N, N] correlation graph the fold was trained with."""
  path = adjacency_path(fold_dir_path)
  if not os.path.exists(path):
    raise FileNotFoundError(f'{path} does not exist: {fold_dir_path} is not '
                            'a trained fold directory')
  return np.load(path)
