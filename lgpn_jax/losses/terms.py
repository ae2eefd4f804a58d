"""How per-image (value, weight) loss terms become one loss.

Every task's ``loss_terms`` returns {term: (per-image value [B], per-image
weight [B])}. Summing values and weights separately (over a batch, or over
devices with ``psum``) and dividing once gives each term's exact mean for any
device count and any padding; ``combine`` then weighs the means.
"""

from __future__ import annotations

from typing import Mapping

import jax
import jax.numpy as jnp


def combine(sums: Mapping[str, jax.Array], counts: Mapping[str, jax.Array],
            weights: Mapping[str, float]):
  """Total loss and per-term means from summed values and summed weights.

  ``weights`` maps a term name to its weight (missing terms weigh 0). A term
  with zero total weight (e.g. a batch of real images only) contributes 0.
  """
  means = {k: sums[k] / jnp.maximum(counts[k], 1e-9) for k in sums}
  total = sum(weights.get(k, 0.0) * v for k, v in means.items())
  return total, means
