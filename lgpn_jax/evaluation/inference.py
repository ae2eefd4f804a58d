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
  (where the model has the real/generated head), and with ``mask_rows > 0``
  the learned graphs (``masks``, ``correlations``) of the rows
  ``mask_index`` names."""

  def outputs(out, mask_index=None):
    res = dict(
        probabilities=positive_probability(
            out['node_logits'].astype(jnp.float32)),
        continuous_features=out['node_features'][:, CONTINUOUS_NODES]
        .astype(jnp.float32))
    if 'real_fake_logits' in out:
      res['p_generated'] = jax.nn.softmax(
          out['real_fake_logits'].astype(jnp.float32), -1)[:, 1]
    if mask_rows > 0:
      res['masks'] = tuple(m[mask_index].astype(jnp.float32)
                           for m in out['masks'])
      res['correlations'] = tuple(c[mask_index].astype(jnp.float32)
                                  for c in out.get('correlations', ()))
    return res

  return outputs


def class_probabilities(out, mask_index=None) -> dict:
  """A classifier's outputs -> softmax probabilities [B, C]."""
  del mask_index
  return dict(probabilities=jax.nn.softmax(out['logits'], -1))


GRAPH_KEYS = ('masks', 'correlations')


class Predictor:
  """``predictor(images [B, H, W, 3]) -> dict of numpy outputs`` ([B, ...]).

  ``outputs(model outputs, mask_index)`` is what comes back (default: model
  parsing's ``parsing_outputs(mask_rows)``):
    probabilities [B, 55]  P(node = 1), either classifier;
    p_generated [B]  P(generated) from LGPN's real/generated head (class 1
      of ``real_fake_logits``, as the artifact loss trains it);
    continuous_features [B, 27, D]  node features of the 27 continuous nodes
      (after the graph head, float32), the regression stage's input;
    masks, correlations  tuples over the (un)pooled levels of [K, n_out,
      n_out] learned edge masks and [K, n_out, n_in] soft correlation maps
      C^T of K rows (only with ``mask_rows > 0``; empty for heads without
      pooling): the rows ``mask_index`` names (default: the first ones),
      at most ``mask_rows``. Selecting on the device keeps the host
      transfer small.

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

    def forward(variables, adjacency, images, mask_index):
      return select(model.apply(variables, images, adjacency, train=False),
                    mask_index)

    self._forward = jax.jit(forward)

  def __call__(self, images, mask_index=None) -> dict:
    images = np.asarray(images, np.float32)
    n = images.shape[0]
    if mask_index is None:
      mask_index = np.arange(min(n, self.mask_rows))
    mask_index = np.asarray(mask_index, np.int32)[:self.mask_rows]
    k = len(self.devices)
    pad = (-n) % k
    if pad:
      images = np.concatenate([images, np.zeros((pad,) + images.shape[1:],
                                                images.dtype)])
    index = np.zeros(self.mask_rows, np.int32)   # fixed shape: one compile.
    index[:len(mask_index)] = mask_index
    x = jax.device_put(images, self._data)
    out = self._forward(self.variables, self.adjacency, x, index)
    return {key: (tuple(np.asarray(a)[:len(mask_index)] for a in value)
                  if key in GRAPH_KEYS else np.asarray(value)[:n])
            for key, value in out.items()}


def iterate(predictor: Predictor, batches: Iterable[Mapping[str, np.ndarray]]
            ) -> Iterator[dict]:
  """Per batch: the predictor's outputs and the batch's labels, mask=1 rows.

  Yields dicts with the Predictor's keys plus ``META_KEYS`` (those present in
  the batch). Batches without a ``mask`` count every row; batches that are
  all padding are skipped without running the model. The learned graphs
  (with ``mask_rows > 0``) are those of the first ``mask_rows`` mask=1 rows:
  one per row whenever ``mask_rows`` is at least the batch size.
  """
  for batch in batches:
    n = len(batch['image'])
    valid = np.asarray(batch.get('mask', np.ones(n)), np.float32) > 0
    if not valid.any():
      continue
    out = predictor(batch['image'],
                    mask_index=np.flatnonzero(valid)[:predictor.mask_rows])
    rows = {k: (v if k in GRAPH_KEYS else v[valid]) for k, v in out.items()}
    for k in META_KEYS:
      if k in batch:
        rows[k] = np.asarray(batch[k])[valid]
    yield rows


def collect(chunks: Iterable[Mapping], keys=None) -> dict:
  """Concatenates ``iterate``'s per-batch dicts (``keys``: which; default
  all); the graph tuples level by level."""
  parts: dict[str, list] = {}
  graphs: dict[str, list] = {}
  for chunk in chunks:
    for k, v in chunk.items():
      if k in GRAPH_KEYS:
        if v and len(v[0]):
          graphs.setdefault(k, []).append(v)
      elif keys is None or k in keys:
        parts.setdefault(k, []).append(v)
  out = {k: np.concatenate(v) for k, v in parts.items()}
  for k, levels in graphs.items():
    out[k] = tuple(np.concatenate([c[i] for c in levels])
                   for i in range(len(levels[0])))
  return out
