"""Passes of a trained fold over its data splits (model parsing).

``train_pass``: the fold's TRAINING split once: the regression stage's
sufficient statistics and the node probabilities of generated images (the
"seen" coordinated attacks, cached in ``seen_outputs.npz`` per checkpoint
step). ``test_pass``: the fold's TEST split (the unseen GMs), generated images
only (real images and padding never count).
"""

from __future__ import annotations

import os
from typing import Mapping

import numpy as np

from lgpn_jax import files, rundir
from lgpn_jax.evaluation import inference, progress
from lgpn_jax.evaluation.fold_model import FoldModel
from lgpn_jax.evaluation.parsing import regression
from lgpn_jax.evaluation.parsing.settings import settings
from lgpn_jax.red140 import continuous


# Outputs of the graph rows only (not one row per image).
PER_GRAPH = inference.GRAPH_KEYS + ('graph_gm_index',)


def _iterator(config, state: FoldModel, builder, split: str, ev: dict):
  from input_pipeline import pipeline  # TensorFlow: only when data is read.
  return progress.batches(pipeline.eval_iterator(
      builder, state.fold, state.protocol, batch_size=int(ev['batch_size']),
      split=split, image_size=int(config.data.image_size),
      process_index=0, process_count=1),
      f'fold {state.fold}: {split} split')


def save_seen(fold_dir_path: str, seen: Mapping, step: int | None) -> str:
  """Caches the training-split probabilities (float32) for the seen attacks,
  and the pass's ``seconds``."""
  return files.save_npz(
      rundir.seen_path(fold_dir_path),
      probabilities=seen['probabilities'].astype(np.float32),
      gm_index=seen['gm_index'], step=np.array(-1 if step is None else step),
      seconds=np.array(seen.get('seconds', np.nan), np.float64))


def load_seen(fold_dir_path: str, step: int | None) -> dict | None:
  """The cached seen outputs if they were made by checkpoint ``step``."""
  path = rundir.seen_path(fold_dir_path)
  if step is None or not os.path.exists(path):
    return None
  with np.load(path) as z:
    if int(z['step']) != step:
      return None
    return dict(probabilities=z['probabilities'].astype(np.float32),
                gm_index=z['gm_index'],
                seconds=float(z['seconds']) if 'seconds' in z else None)


def train_pass(config, state: FoldModel, builder, *, fit: bool = True,
               predictor: inference.Predictor | None = None):
  """One pass over the fold's training split.

  Returns (regression head or None, seen) where seen holds probabilities
  [N, 55] and gm_index [N] of the generated training images. With ``fit``,
  the regression stage is fitted on the same images.
  """
  ev = settings(config)
  predictor = predictor or inference.Predictor(state.model, state.variables,
                                               state.adjacency)
  norm = continuous.for_fold(state.fold, state.protocol, ev['normalisation'])
  acc = None
  probs, gms = [], []
  for chunk in inference.iterate(predictor,
                                 _iterator(config, state, builder, 'train', ev)):
    gen = chunk['is_generated'] > 0
    if not gen.any():
      continue
    probs.append(chunk['probabilities'][gen])
    gms.append(chunk['gm_index'][gen])
    if fit:
      x = regression.hyperparameter_features(chunk['continuous_features'][gen])
      if acc is None:
        acc = regression.RidgeAccumulator.zeros(x.shape[-1])
      acc.update(x, norm.normalise(chunk['continuous'][gen]),
                 chunk['continuous_mask'][gen])
  if not probs:
    raise ValueError(f'fold {state.fold}: the training split has no '
                     'generated image')
  head = None
  if fit:
    head = acc.solve(float(ev['ridge_l2']))
    head.normaliser = norm
  return head, dict(probabilities=np.concatenate(probs),
                    gm_index=np.concatenate(gms))


def test_pass(config, state: FoldModel, builder, head, *,
              predictor: inference.Predictor | None = None) -> dict:
  """Outputs over the fold's test split, generated images only.

  probabilities [N, 55], regressed [N, 9] (normalised), label, gm_index,
  continuous, continuous_mask, p_generated (models with the head), and the
  learned graphs (``masks``, ``correlations``) of the first image of the
  first few GMs (``graph_gm_index``).
  """
  ev = settings(config)
  predictor = predictor or inference.Predictor(
      state.model, state.variables, state.adjacency,
      mask_rows=int(ev['num_mask_images']))

  def chunks():
    for chunk in inference.iterate(
        predictor, _iterator(config, state, builder, 'test', ev)):
      gen = chunk['is_generated'] > 0
      out = {k: (v if k in PER_GRAPH else v[gen]) for k, v in chunk.items()}
      out['regressed'] = head.predict(out.pop('continuous_features'))
      yield out

  out = inference.collect(chunks())
  if 'probabilities' not in out:
    raise ValueError(f'fold {state.fold}: the test split has no generated image')
  return out
