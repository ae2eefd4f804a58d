"""Model parsing's training stream: which images, with which labels.

``parsing_batches(config, builder, seed, keys, start_step)`` -> this host's
infinite training batches from global batch ``start_step`` on, built in four
steps from the fold's
``red140.selection.Selection`` and ``config.labels``:
  1. source: the build's split expression of the fold when the selection is
     one (``input_pipeline.pipeline.train_iterator``), else every image of
     the selected training GMs plus real images, selected by the
     selection's source table (``input_pipeline.task_data``);
  2. labels: from the selection's table by ``gm_index`` when it relabels
     (Random-GT's permutation; task_data batches carry none). The TFRecords
     keep the true labels;
  3. holdout (``selection.holdout_percent``): held-out generated images are
     dropped and batches refilled to full size from the stream. The source
     draws real images at a raised weight ``r (1 - h) / (1 - r h)`` (h the
     held-out share) so that real images stay ``train.real_fraction`` of
     each batch in expectation;
  4. mislabelling (``labels.mislabel_percent`` = p, rebuttal R.8): each
     generated image of the stream is relabelled as real (is_generated 0,
     all-zero node label) with probability p / 100, decided by a hash of
     (``labels.mislabel_seed``, process index, position in the stream).
     The decision is per example of the stream, not per stored image: the
     batches carry no image identity, and the data pipeline is not ours to
     change; an image seen in several epochs is relabelled in about p % of
     them. Positions continue from ``start_step`` times the host's batch, so
     a resumed run relabels exactly the same examples.
A resumed run starts the source at ``start_step`` at once (input_pipeline's
stream: batch s is a function of (seed, s)), except with a holdout: the
refill makes every batch depend on all earlier ones, so the stream is then
replayed from step 0 and ``start_step`` batches are dropped (exact, at the
cost of decoding them).
"""

from __future__ import annotations

import itertools
from typing import Callable, Iterable, Iterator, Mapping

import jax
import numpy as np

from lgpn_jax.red140 import selection as selection_lib

MIX = 0x9E3779B97F4A7C15


def check_labels(config) -> dict:
  """``config.labels`` over its defaults, checked."""
  _, labels = selection_lib.settings(config)
  if not 0 <= float(labels['mislabel_percent']) <= 100:
    raise ValueError(f'labels.mislabel_percent must be in [0, 100], got '
                     f'{labels["mislabel_percent"]}')
  return labels


def real_weight(real_fraction: float | None, held_share: float) -> float | None:
  """The source's real-image share so that ``real_fraction`` remains after a
  ``held_share`` of the generated images is dropped."""
  if real_fraction is None or not held_share:
    return real_fraction
  r, h = float(real_fraction), float(held_share)
  return r * (1 - h) / (1 - r * h)


def refill(batches: Iterable[Mapping], keep: Callable[[Mapping], np.ndarray],
           batch_size: int) -> Iterator[dict]:
  """Batches of ``batch_size`` made of the rows ``keep`` selects, in order."""
  buf = None
  for batch in batches:
    rows = keep(batch)
    part = {k: np.asarray(v)[rows] for k, v in batch.items()}
    buf = part if buf is None else {k: np.concatenate([buf[k], part[k]])
                                    for k in buf}
    while len(next(iter(buf.values()))) >= batch_size:
      yield {k: v[:batch_size] for k, v in buf.items()}
      buf = {k: v[batch_size:] for k, v in buf.items()}


def uniform_hash(seed: int, stream: int, positions) -> np.ndarray:
  """[N] floats in [0, 1), a fixed function of (seed, stream, position)
  (splitmix64 finaliser)."""
  offset = (int(seed) * MIX + int(stream) * 0xD1B54A32D192ED03) % 2 ** 64
  x = np.asarray(positions, np.uint64) + np.uint64(offset)
  x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
  x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
  x = x ^ (x >> np.uint64(31))
  return (x >> np.uint64(11)).astype(np.float64) / 2.0 ** 53


def mislabel(batches: Iterable[Mapping], percent: float, seed: int,
             stream: int = 0, position: int = 0) -> Iterator[dict]:
  """Relabels ``percent`` % of the generated examples as real (see the
  module doc; ``position``: that of the first example); passes batches
  through unchanged when ``percent`` is 0."""
  for batch in batches:
    n = len(batch['is_generated'])
    if percent:
      u = uniform_hash(seed, stream, np.arange(position, position + n))
      flip = (np.asarray(batch['is_generated']) > 0) & (u < percent / 100.0)
      if flip.any():
        batch = dict(batch)
        batch['is_generated'] = np.where(flip, 0, batch['is_generated']).astype(
            np.asarray(batch['is_generated']).dtype)
        batch['label'] = np.where(flip[:, None], 0, batch['label']).astype(
            np.asarray(batch['label']).dtype)
    position += n
    yield batch


def _source(config, sel: selection_lib.Selection, builder, seed: int,
            start_step: int):
  """Step 1: this host's raw batches of the fold's training images."""
  t = config.train
  kw = dict(batch_size=t.batch_size, image_size=config.data.image_size,
            real_fraction=real_weight(t.real_fraction,
                                      sel.holdout_percent / 100.0),
            sampling=t.sampling, seed=seed, start_step=start_step)
  if sel.uses_splits:
    from input_pipeline import pipeline  # TensorFlow is imported here only.
    return pipeline.train_iterator(builder, sel.fold, sel.protocol, **kw)
  from input_pipeline import task_data
  return task_data.train_iterator(
      builder, sel.source_table(sel.train, real=True),
      np.zeros(selection_lib.NUM_SOURCES, bool), **kw)


def parsing_batches(config, builder, seed: int, keys,
                    start_step: int = 0) -> Iterator[dict]:
  """This host's infinite training batches with ``keys`` (module doc)."""
  sel = selection_lib.from_config(config)
  labels = check_labels(config)
  replay = start_step if sel.holdout_percent else 0
  first = start_step - replay
  it: Iterable[Mapping] = _source(config, sel, builder, seed, first)
  if sel.relabels():
    it = map(sel.remap, it)
  if sel.holdout_percent:
    it = refill(it, lambda b: ~sel.held_out(b['image'], b['gm_index']),
                _local_batch(config))
  it = mislabel(it, float(labels['mislabel_percent']),
                int(labels['mislabel_seed']), jax.process_index(),
                first * _local_batch(config))
  for batch in itertools.islice(it, replay, None):
    yield {k: batch[k] for k in keys}


def _local_batch(config) -> int:
  """This host's share of the global batch."""
  return int(config.train.batch_size) // jax.process_count()
