"""Run a trained model over evaluation batches and collect its outputs on the host.

One jit-compiled forward (``train=False``: BatchNorm running statistics, no
dropout), data-parallel over this process's local devices: the batch is split
over a 1-d ``'data'`` mesh and the variables are replicated. Each process
evaluates the whole stream it is given (no cross-host collectives), so
multi-host callers should read with ``process_count=1`` and write from
process 0 only (the evaluators do).

Only rows with ``mask = 1`` are kept: padding never reaches a metric, and the
last partial batch is kept. Model parsing and classification share this code;
``outputs`` says which outputs to bring back. No TensorFlow here.
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator, Mapping

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

from lgpn_jax import mesh as mesh_lib
from lgpn_jax.models.lgpn import positive_probability
from lgpn_jax.red140 import schema

META_KEYS = ('label', 'is_generated', 'gm_index', 'continuous',
             'continuous_mask', 'test_set', 'class_label')
CONTINUOUS_NODES = schema.family_nodes('continuous')


def parsing_outputs(mask_rows: int = 0) -> Callable:
  """LGPN's outputs -> probabilities, continuous_features, p_generated
  (where the model has the real/generated head) and masks."""

  def outputs(out):
    res = dict(
        probabilities=positive_probability(
            out['node_logits'].astype(jnp.float32)),
        continuous_features=out['node_features'][:, CONTINUOUS_NODES]
        .astype(jnp.float32))
    if 'real_fake_logits' in out:
      res['p_generated'] = jax.nn.softmax(
          out['real_fake_logits'].astype(jnp.float32), -1)[:, 1]
    if mask_rows > 0:
      res['masks'] = tuple(m[:mask_rows].astype(jnp.float32)
                           for m in out['masks'])
    return res

  return outputs


def class_probabilities(out) -> dict:
  """A classifier's outputs -> softmax probabilities [B, C]."""
  return dict(probabilities=jax.nn.softmax(out['logits'], -1))


class Predictor:
  """``predictor(images [B, H, W, 3]) -> dict of numpy outputs`` ([B, ...]).

  ``outputs`` maps the model's outputs to what comes back (default: model
  parsing's ``parsing_outputs(mask_rows)``):
    probabilities [B, 55]  P(node = 1), either classifier;
    p_generated [B]  P(generated) from LGPN's real/generated head (class 1
      of ``real_fake_logits``, as the artifact loss trains it);
    continuous_features [B, 27, D]  node features of the 27 continuous nodes
      (after the graph head, float32), the regression stage's input;
    masks  tuple of [K, n, n] learned edge masks per (un)pooled level of the
      batch's first K = min(B, mask_rows) images (only with ``mask_rows > 0``;
      empty for heads without pooling). Cutting on the device keeps the
      host transfer small.

  ``devices``: the devices to split the batch over (default: every local
  device). A batch whose size is not a multiple of their number is padded on
  the host and the padding is dropped from the outputs. ``adjacency`` may be
  None for models without a graph.
  """

  def __init__(self, model, variables, adjacency, *, devices=None,
               mask_rows: int = 0, outputs: Callable | None = None):
    self.devices = list(devices or jax.local_devices())
    self.mesh = mesh_lib.make_mesh(self.devices)
    self._data = mesh_lib.data_sharding(self.mesh)
    replicated = NamedSharding(self.mesh, P())
    self.variables = jax.device_put(variables, replicated)
    if adjacency is not None:
      adjacency = jax.device_put(
          jnp.asarray(np.asarray(adjacency, np.float32)), replicated)
    self.adjacency = adjacency
    self.mask_rows = int(mask_rows)
    select = outputs or parsing_outputs(self.mask_rows)

    def forward(variables, adjacency, images):
      return select(model.apply(variables, images, adjacency, train=False))

    self._forward = jax.jit(forward)

  def __call__(self, images) -> dict:
    images = np.asarray(images, np.float32)
    n = images.shape[0]
    k = len(self.devices)
    pad = (-n) % k
    if pad:
      images = np.concatenate([images, np.zeros((pad,) + images.shape[1:],
                                                images.dtype)])
    x = jax.device_put(images, self._data)
    out = self._forward(self.variables, self.adjacency, x)
    return jax.tree.map(lambda a: np.asarray(a)[:n], out)


def iterate(predictor: Predictor, batches: Iterable[Mapping[str, np.ndarray]]
            ) -> Iterator[dict]:
  """Per batch: the predictor's outputs and the batch's labels, mask=1 rows.

  Yields dicts with the Predictor's keys plus ``META_KEYS`` (those present in
  the batch). Batches without a ``mask`` count every row; batches that are
  all padding are skipped without running the model.
  """
  for batch in batches:
    n = len(batch['image'])
    valid = np.asarray(batch.get('mask', np.ones(n)), np.float32) > 0
    if not valid.any():
      continue
    out = predictor(batch['image'])
    rows = {k: (tuple(m[valid[:len(m)]] for m in v) if isinstance(v, tuple)
                else v[valid]) for k, v in out.items()}
    for k in META_KEYS:
      if k in batch:
        rows[k] = np.asarray(batch[k])[valid]
    yield rows


def collect(chunks: Iterable[Mapping], keys=None, max_masks: int = 0) -> dict:
  """Concatenates ``iterate``'s per-batch dicts (``keys``: which; default all).

  ``masks`` (tuples) are kept only for the first ``max_masks`` rows.
  """
  parts: dict[str, list] = {}
  masks, have = [], 0
  for chunk in chunks:
    for k, v in chunk.items():
      if k == 'masks':
        if have < max_masks and v:
          take = max_masks - have
          masks.append(tuple(m[:take] for m in v))
          have += min(take, len(v[0]))
        continue
      if keys is None or k in keys:
        parts.setdefault(k, []).append(v)
  out = {k: np.concatenate(v) for k, v in parts.items()}
  if masks:
    out['masks'] = tuple(np.concatenate([m[i] for m in masks])
                         for i in range(len(masks[0])))
  return out
