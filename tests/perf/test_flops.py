"""FLOP counting: hand-computed small cases and the reference's 178.9 GFLOPs."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import pytest

from configs import released
from lgpn_jax.perf import flops
from lgpn_jax.red140 import graphs
from lgpn_jax.models.build import build_model


def test_conv_and_dot_flops_by_hand():
  x = jnp.zeros((2, 8, 8, 4))
  conv = nn.Conv(6, (3, 3), padding='SAME', feature_group_count=2)
  v = conv.init(jax.random.key(0), x)
  # 2 * outputs (2*8*8*6) * kernel (3*3) * input features per group (4/2)
  assert flops.matmul_flops(conv.apply, v, x) == 2 * 2 * 8 * 8 * 6 * 9 * 2
  a, b = jnp.zeros((5, 7)), jnp.zeros((7, 3))
  assert flops.matmul_flops(jnp.matmul, a, b) == 2 * 5 * 3 * 7
  # Nested jit and element-wise ops: only the matmul counts.
  f = jax.jit(lambda a, b: jnp.tanh(a @ b) + 1)
  assert flops.matmul_flops(f, a, b) == 2 * 5 * 3 * 7


def test_resize_is_counted_apart():
  x = jnp.zeros((1, 4, 4, 2))
  counts = flops.matmul_flops_breakdown(
      lambda x: jax.image.resize(x, (1, 8, 8, 2), 'bilinear'), x)
  assert counts['conv'] == counts['matmul'] == 0
  # Two passes: H (8 out x 4 in) then W, each a matmul per column/row.
  assert counts['resize'] == 2 * (8 * 1 * 4 * 2) * 4 + 2 * (8 * 1 * 2 * 8) * 4


def test_released_model_matches_reference_gflops():
  net = build_model(released.get_config().model)
  adj = jnp.asarray(graphs.fold_correlation_graph(1))
  x = jax.ShapeDtypeStruct((1, 256, 256, 3), jnp.float32)
  v = jax.eval_shape(
      lambda x: net.init({'params': jax.random.key(0)}, x, adj), x)
  fwd = lambda v, x: net.apply(v, x, adj)['node_logits']
  # The reference (PyTorch FlopCounterMode, conv + matmul): 178.9 GFLOPs.
  assert flops.matmul_flops(fwd, v, x) / 1e9 == pytest.approx(178.9, abs=0.05)
