"""The classification tasks' objective, as per-image (value, weight) terms.

One term, 'classification': per-image softmax cross-entropy of the task
classifier's logits against ``batch['class_label']``, weighted by the batch
mask (0 for padding), so the data-parallel step can sum values and weights
over devices and divide once (``terms.combine``).
"""

from __future__ import annotations

from typing import Mapping

import jax.numpy as jnp
import optax

WEIGHTS = {'classification': 1.0}


def loss_terms(outputs: Mapping, batch: Mapping) -> dict:
  """{'classification': (value [B], weight [B])}."""
  labels = batch['class_label'].astype(jnp.int32)
  valid = batch.get('mask', jnp.ones(labels.shape, jnp.float32))
  valid = valid.astype(jnp.float32)
  ce = optax.softmax_cross_entropy_with_integer_labels(
      outputs['logits'].astype(jnp.float32), labels)
  return {'classification': (ce * valid, valid)}


def accuracy_terms(outputs: Mapping, batch: Mapping):
  """(sums, counts) of the batch's classification accuracy."""
  labels = batch['class_label'].astype(jnp.int32)
  valid = batch.get('mask', jnp.ones(labels.shape, jnp.float32))
  valid = valid.astype(jnp.float32)
  hit = (jnp.argmax(outputs['logits'], -1) == labels).astype(jnp.float32)
  return {'accuracy': jnp.sum(hit * valid)}, {'accuracy': jnp.sum(valid)}
