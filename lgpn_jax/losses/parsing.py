"""LGPN's objectives: node classification, hierarchy, artifact isolation.

Every term is returned as a per-image value ``[B]`` plus a per-image weight
``[B]`` so that a data-parallel step can sum both across devices and divide
once (exact for any device count and for padded batches):
  * node: sum over the 55 nodes of the per-node loss, generated images only
    (real images carry an all-zero label and contribute nothing);
  * hierarchy: for every (un)pooling step, the mean squared difference between
    the learned matching matrix S and its fixed target (graphs.transition_targets),
    summed over steps; optionally (released code) plus the mean absolute
    difference between the correlation map C and its target;
  * artifact: 2-way cross-entropy of the real-vs-generated classifier.
``accuracy_terms`` gives the batch accuracies the trainer logs, in the same
(sum, count) form.
The total is  node_weight * node + hierarchy_weight * hierarchy
+ correlation_weight * correlation + artifact_weight * artifact, each term
averaged over its own weights.
"""

from __future__ import annotations

from typing import Mapping

import jax.numpy as jnp
import optax

from lgpn_jax.losses.terms import combine
from lgpn_jax.models.lgpn import positive_probability
from lgpn_jax.red140 import graphs
def node_bce(logits, labels):
  """[B, N] sigmoid binary cross-entropy per node."""
  return optax.sigmoid_binary_cross_entropy(logits, labels)


def node_softmax_ce(logits, labels):
  """[B, N] 2-way softmax cross-entropy per node (logits [B, N, 2])."""
  return optax.softmax_cross_entropy_with_integer_labels(
      logits, labels.astype(jnp.int32))


def node_loss(node_logits, labels, is_generated):
  """(per-image loss [B], weight [B]): summed over nodes, generated only."""
  per_node = (node_softmax_ce if node_logits.ndim == 3 else node_bce)(
      node_logits, labels)
  weight = is_generated.astype(jnp.float32)
  return jnp.sum(per_node, axis=-1) * weight, weight


def hierarchy_loss(matrices, targets):
  """Per-image sum over steps of mean_ij (M_ij - T_ij)^2, [B]."""
  total = 0.0
  for m, t in zip(matrices, targets, strict=True):
    total = total + jnp.mean(jnp.square(m - t), axis=(1, 2))
  return total


def correlation_loss(matrices, targets):
  """Per-image sum over steps of mean_ij |C_ij - T_ij|, [B]."""
  total = 0.0
  for c, t in zip(matrices, targets, strict=True):
    total = total + jnp.mean(jnp.abs(c - t), axis=(1, 2))
  return total


def artifact_loss(real_fake_logits, is_generated):
  """[B] cross-entropy of the real (0) vs generated (1) classifier."""
  return optax.softmax_cross_entropy_with_integer_labels(
      real_fake_logits, is_generated.astype(jnp.int32))


def targets_for(pool_sizes, num_nodes: int = 55, matching: str = 'hard'):
  """The fixed hierarchy targets for a model's pooling path (numpy)."""
  sizes = (num_nodes, *pool_sizes, *tuple(pool_sizes)[-2::-1], num_nodes)
  return graphs.transition_targets(sizes, matching) if pool_sizes else []


def model_targets(model_cfg, loss_cfg):
  """The fixed matching targets of a config ([] without pooling);
  ``loss.hierarchy_targets`` says 'hard' or 'soft' (graphs.transition_targets)."""
  if model_cfg.head != 'gcn_refinement':
    return []
  return targets_for(tuple(model_cfg.pool_sizes), model_cfg.num_nodes,
                     loss_cfg.get('hierarchy_targets', 'hard'))


def loss_terms(outputs: Mapping, batch: Mapping, targets,
               hierarchy_on_real: bool = True) -> dict:
  """Per-image values and weights of every term: {name: (value [B], weight [B])}.

  ``batch`` needs 'label' [B, N] and 'is_generated' [B]; an optional 'mask'
  [B] (0 for padding) zeroes every term of padded examples.
  ``hierarchy_on_real=False`` weighs the hierarchy and correlation terms by
  generated images only (the paper's loss has the graph terms 0 for real
  images); True applies them to every image (the released code).
  """
  is_gen = batch['is_generated']
  valid = batch.get('mask', jnp.ones(is_gen.shape, jnp.float32))
  valid = valid.astype(jnp.float32)
  value, weight = node_loss(outputs['node_logits'], batch['label'], is_gen)
  terms = dict(node=(value * valid, weight * valid))
  if outputs['matchings']:
    match_t = [jnp.asarray(m) for m, _ in targets]
    corr_t = [jnp.asarray(c) for _, c in targets]
    graph_w = valid if hierarchy_on_real else weight * valid
    terms['hierarchy'] = (
        hierarchy_loss(outputs['matchings'], match_t) * graph_w, graph_w)
    terms['correlation'] = (
        correlation_loss(outputs['correlations'], corr_t) * graph_w, graph_w)
  terms['artifact'] = (
      artifact_loss(outputs['real_fake_logits'], is_gen) * valid, valid)
  return terms


def accuracy_terms(outputs: Mapping, batch: Mapping):
  """(sums, counts) of node accuracy (generated) and, for models with the
  real/generated head, real/fake accuracy."""
  valid = batch.get('mask', jnp.ones(batch['is_generated'].shape))
  valid = valid.astype(jnp.float32)
  gen = batch['is_generated'].astype(jnp.float32) * valid
  pred = positive_probability(outputs['node_logits']) > 0.5
  node_acc = jnp.mean((pred == (batch['label'] > 0.5)).astype(jnp.float32), -1)
  sums = dict(node_accuracy=jnp.sum(node_acc * gen))
  counts = dict(node_accuracy=jnp.sum(gen))
  if 'real_fake_logits' in outputs:
    rf_pred = jnp.argmax(outputs['real_fake_logits'], -1)
    rf_acc = (rf_pred == batch['is_generated']).astype(jnp.float32)
    sums['real_fake_accuracy'] = jnp.sum(rf_acc * valid)
    counts['real_fake_accuracy'] = jnp.sum(valid)
  return sums, counts


def config_weights(loss_cfg) -> dict[str, float]:
  return dict(node=loss_cfg.node_weight, hierarchy=loss_cfg.hierarchy_weight,
              correlation=loss_cfg.correlation_weight,
              artifact=loss_cfg.artifact_weight)


def total_loss(outputs, batch, targets, loss_cfg):
  """Single-device total loss and its terms (the train step sums across devices)."""
  terms = loss_terms(outputs, batch, targets,
                     loss_cfg.get('hierarchy_on_real', True))
  sums = {k: jnp.sum(v) for k, (v, _) in terms.items()}
  counts = {k: jnp.sum(w) for k, (_, w) in terms.items()}
  return combine(sums, counts, config_weights(loss_cfg))


