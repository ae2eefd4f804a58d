"""The 55 independent node heads and the shared per-node classifier."""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from lgpn_jax.models import graph_ops
Dtype = Any
# PyTorch's nn.Linear default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
torch_linear_init = nn.initializers.variance_scaling(
    1.0 / 3.0, 'fan_in', 'uniform', in_axis=-2, out_axis=-1, batch_axis=(0,))


class NodeHeads(nn.Module):
  """f [B, F] -> L2-normalised node features [B, N, D].

  Each node has its own Linear(F, H) - ReLU - Linear(H, D); all N heads run as
  two einsums over stacked weights (the first is one [F, N*H] matmul).
  """
  num_nodes: int = 55
  hidden: int = 512
  features: int = 128
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, f):
    n, fin = self.num_nodes, f.shape[-1]
    w1 = self.param('w1', torch_linear_init, (n, fin, self.hidden))
    b1 = self.param('b1', nn.initializers.zeros, (n, self.hidden))
    w2 = self.param('w2', torch_linear_init, (n, self.hidden, self.features))
    b2 = self.param('b2', nn.initializers.zeros, (n, self.features))
    f = f.astype(self.dtype)
    h = jnp.einsum('bf,nfh->bnh', f, w1.astype(self.dtype)) + b1.astype(self.dtype)
    h = nn.relu(h)
    h = jnp.einsum('bnh,nhd->bnd', h, w2.astype(self.dtype)) + b2.astype(self.dtype)
    return graph_ops.l2_normalize(h.astype(jnp.float32))


class MLP(nn.Module):
  """Linear(d, d) - ReLU - Linear(d, outputs), applied on the last axis."""
  outputs: int

  @nn.compact
  def __call__(self, x):
    x = nn.relu(nn.Dense(x.shape[-1], name='Dense_0')(x))
    return nn.Dense(self.outputs, name='Dense_1')(x)
