"""Passes of a trained fold over its data splits (model parsing).

``train_pass``: the fold's TRAINING split once: the regression stage's
sufficient statistics and the node probabilities of generated images (cached
in ``seen_outputs.npz`` per checkpoint step, with the outputs of the
held-out images of the coordinated-attack protocol when the fold has them).
``test_pass``: the fold's TEST split (the unseen GMs), generated images
only (real images and padding never count). Which GMs and images a split
holds, and their labels, is the fold's ``red140.selection.Selection``.
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
from lgpn_jax.red140 import selection


def fold_selection(config, state: FoldModel) -> selection.Selection:
  """The GMs, held-out images and labels the fold was trained with."""
  return selection.from_config(config, state.fold, state.protocol)


def eval_batches(config, state: FoldModel, builder, split: str, ev: dict):
  """Padded eval batches of the fold's 'train' or 'test' GMs, with progress
  lines: the build's splits when the fold is one (``Selection.uses_splits``),
  else every image of the selected GMs (input_pipeline.task_data); labels
  from the selection's table when it relabels."""
  sel = fold_selection(config, state)
  kw = dict(batch_size=int(ev['batch_size']),
            image_size=int(config.data.image_size))
  if sel.uses_splits:
    from input_pipeline import pipeline  # TensorFlow: only when data is read.
    batches = pipeline.eval_iterator(builder, state.fold, state.protocol,
                                     split=split, process_index=0,
                                     process_count=1, **kw)
  else:
    from input_pipeline import task_data
    names = sel.train if split == 'train' else sel.test
    batches = task_data.eval_batches(
        builder, sel.source_table(names, real=False),
        np.zeros(selection.NUM_SOURCES, bool), **kw)
  batches = progress.batches(batches, f'fold {state.fold}: {split} split')
  return map(sel.remap, batches) if sel.relabels() else batches


# Outputs of the drawn graphs only (not one row per image).
PER_GRAPH = inference.GRAPH_KEYS + ('graph_gm_index',)


def _keep_graphs_of_new_gms(out: dict, chosen: list, limit: int) -> dict:
  """``out`` with the learned graphs of the first image of each GM not in
  ``chosen`` yet (``limit`` GMs in all, ``chosen`` updated) instead of every
  image's: what the plots draw, without holding every image's graphs."""
  rows = []
  for i, g in enumerate(out['gm_index'].tolist()):
    if len(chosen) >= limit:
      break
    if g not in chosen:
      chosen.append(g)
      rows.append(i)
  for key in inference.GRAPH_KEYS:
    if key in out:
      out[key] = tuple(a[rows] for a in out[key])
  out['graph_gm_index'] = out['gm_index'][rows]
  return out


def save_seen(fold_dir_path: str, seen: Mapping, step: int | None) -> str:
  """Caches the training-split outputs (float32) for reuse by the same
  checkpoint step: probabilities, gm_index, the pass's ``seconds`` and any
  other arrays of ``seen`` (the held-out images' outputs,
  parsing/attack.py)."""
  arrays = {k: (np.asarray(v, np.float32) if np.asarray(v).dtype.kind == 'f'
                else np.asarray(v)) for k, v in seen.items()}
  return files.save_npz(rundir.seen_path(fold_dir_path),
                        step=np.array(-1 if step is None else step), **arrays)


def load_seen(fold_dir_path: str, step: int | None) -> dict | None:
  """The cached seen outputs if they were made by checkpoint ``step``."""
  path = rundir.seen_path(fold_dir_path)
  if step is None or not os.path.exists(path):
    return None
  with np.load(path) as z:
    if int(z['step']) != step:
      return None
    return {k: z[k] for k in z.files if k != 'step'}


def train_pass(config, state: FoldModel, builder, *, fit: bool = True,
               predictor: inference.Predictor | None = None, wrap=None):
  """One pass over the fold's training split.

  Returns (regression head or None, seen) where seen holds probabilities
  [N, 55] and gm_index [N] of the generated training images. With ``fit``,
  the regression stage is fitted on the same images. ``wrap``: applied to
  the batch stream first (parsing/attack.py routes held-out images out).
  """
  ev = settings(config)
  predictor = predictor or inference.Predictor(state.model, state.variables,
                                               state.adjacency)
  norm = fold_selection(config, state).normaliser(ev['normalisation'])
  acc = None
  probs, gms = [], []
  batches = eval_batches(config, state, builder, 'train', ev)
  for chunk in inference.iterate(predictor,
                                 wrap(batches) if wrap else batches):
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
  continuous, continuous_mask, p_generated (models with the head); the
  learned graphs (``masks``, ``correlations``) of the first image of each of
  the first ``eval.num_mask_images`` GMs (their GMs in ``graph_gm_index``);
  and ``gm_masks``: per test GM (in ``gm_masks['gm_index']`` order) the mean
  of every image's learned edge mask at each (un)pooled level (empty for
  heads without pooling).
  """
  ev = settings(config)
  predictor = predictor or test_predictor(config, state)
  sums: dict[int, list[np.ndarray]] = {}
  counts: dict[int, int] = {}
  chosen: list[int] = []

  def chunks():
    for chunk in inference.iterate(
        predictor, eval_batches(config, state, builder, 'test', ev)):
      gen = chunk['is_generated'] > 0
      out = {k: (tuple(m[gen] for m in v) if isinstance(v, tuple)
                 else v[gen]) for k, v in chunk.items()}
      out['regressed'] = head.predict(out.pop('continuous_features'))
      for g in np.unique(out['gm_index']).tolist():
        sel = out['gm_index'] == g
        add = [m[sel].sum(0) for m in out.get('masks', ())]
        sums[g] = add if g not in sums else [a + b for a, b in zip(sums[g],
                                                                   add)]
        counts[g] = counts.get(g, 0) + int(sel.sum())
      yield _keep_graphs_of_new_gms(out, chosen, int(ev['num_mask_images']))

  out = inference.collect(chunks())
  if 'probabilities' not in out:
    raise ValueError(f'fold {state.fold}: the test split has no generated image')
  order = sorted(counts)
  out['gm_masks'] = dict(
      gm_index=np.asarray(order, np.int32),
      levels=[np.stack([sums[g][i] / counts[g] for g in order])
              for i in range(len(sums[order[0]]))])
  return out


def test_predictor(config, state: FoldModel) -> inference.Predictor:
  """The evaluation forward: every image's learned edge masks come back (a
  batch's worth of rows), for the per-GM pooled-graph statistics."""
  return inference.Predictor(state.model, state.variables, state.adjacency,
                             mask_rows=int(settings(config)['batch_size']))


def heldout_node_loss(config, state: FoldModel, builder) -> float:
  """Mean node loss of the fold's test split (generated images): per image
  the cross-entropy of every node summed over the 55 nodes, from the
  predicted P(node = 1) (equal to the 2-way softmax CE and to the sigmoid
  BCE). The released script selects its model by this number, so it is a
  look at the test fold: use only to reproduce that selection."""
  ev = settings(config)
  predictor = inference.Predictor(state.model, state.variables,
                                  state.adjacency)
  total, count = 0.0, 0
  for chunk in inference.iterate(
      predictor, eval_batches(config, state, builder, 'test', ev)):
    gen = chunk['is_generated'] > 0
    p = np.clip(chunk['probabilities'][gen].astype(np.float64), 1e-12,
                1 - 1e-12)
    y = chunk['label'][gen] > 0.5
    total += float(-np.where(y, np.log(p), np.log1p(-p)).sum())
    count += int(gen.sum())
  if not count:
    raise ValueError(f'fold {state.fold}: the test split has no generated image')
  return total / count
