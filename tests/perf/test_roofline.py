"""lgpn_jax/perf/roofline.py: per-op FLOPs and bytes against hand counts, the
backward pass of strided convolutions, grouping, and the floor arithmetic."""

import jax
import jax.numpy as jnp
import pytest

from lgpn_jax.perf import roofline
def _conv(x, w, stride):
  return jax.lax.conv_general_dilated(
      x, w, (stride, stride), 'SAME',
      dimension_numbers=('NHWC', 'HWIO', 'NHWC'))


def test_conv_op_flops_and_bytes_match_hand_count():
  x = jax.ShapeDtypeStruct((2, 8, 8, 3), jnp.bfloat16)
  w = jax.ShapeDtypeStruct((3, 3, 3, 5), jnp.bfloat16)
  (op,) = roofline.heavy_ops(lambda x, w: _conv(x, w, 1), x, w)
  assert op.flops == 2 * (2 * 8 * 8 * 5) * (3 * 3 * 3)
  assert op.bytes == 2 * (2 * 8 * 8 * 3 + 3 * 3 * 3 * 5 + 2 * 8 * 8 * 5)
  assert op.out_bytes == 2 * (2 * 8 * 8 * 5)
  assert not op.backward


def test_matmul_op_in_float32():
  a = jax.ShapeDtypeStruct((4, 6), jnp.float32)
  b = jax.ShapeDtypeStruct((6, 7), jnp.float32)
  (op,) = roofline.heavy_ops(jnp.matmul, a, b)
  assert op.flops == 2 * 4 * 6 * 7
  assert op.bytes == 4 * (4 * 6 + 6 * 7 + 4 * 7)


def _stack(params, x):
  """Three convolutions, two of them strided, as in a ResNet stage."""
  for w, stride in zip(params, (1, 2, 2)):
    x = jax.nn.relu(_conv(x, w, stride))
  return jnp.sum(x)


@pytest.mark.parametrize('kernel', [1, 3])
def test_training_costs_three_forwards_minus_the_input_gradient(kernel):
  """Backward = dgrad + wgrad = 2x forward per convolution, strided ones
  included (their dgrad runs over a dilated input whose zeros must not be
  counted); the first layer's input gradient is never computed."""
  shapes = [(kernel, kernel, 3, 8), (kernel, kernel, 8, 16),
            (kernel, kernel, 16, 16)]
  params = [jax.ShapeDtypeStruct(s, jnp.float32) for s in shapes]
  x = jax.ShapeDtypeStruct((2, 16, 16, 3), jnp.float32)
  fwd = roofline.heavy_ops(_stack, params, x)
  train = roofline.heavy_ops(jax.grad(_stack), params, x)
  # Independent count: output positions x taps x input channels.
  sizes = [16, 8, 4]
  hand = [2 * 2 * s * s * w[3] * kernel * kernel * w[2]
          for s, w in zip(sizes, shapes)]
  assert [op.flops for op in fwd] == hand
  assert sum(op.flops for op in train) == 3 * sum(hand) - hand[0]
  backward = [op for op in train if op.backward]
  assert len(backward) == 5 and len(train) == 8


def test_group_of_strips_transforms_and_block_indices():
  g = roofline.group_of
  assert g('transpose(jvp(LGPN))/backbone/stages/layer1_2/conv3') == (
      'backbone/layer1')
  assert g('jvp(LGPN)/backbone/conv1_0') == 'backbone/conv1'
  assert g('LGPN/node_heads/bf,nfh->bnh') == 'node_heads/bf,nfh->bnh'
  assert g('LGPN/backbone', resize=True) == 'backbone/resize'
  assert g('') == ''


def test_summarize_takes_the_slower_roof_per_op():
  ops = [roofline.Op('a', False, 8_000, bytes=10, out_bytes=4),  # compute 8 s
         roofline.Op('a', True, 1_000, bytes=30, out_bytes=6),   # memory 10 s
         roofline.Op('b', False, 2_000, bytes=1, out_bytes=1)]   # compute 2 s
  # Peaks of 1000 FLOP/s (1e-9 TFLOP/s) and 3 bytes/s (3e-12 TB/s).
  r = roofline.summarize(ops, images=2, peak_tflops=1e-9, peak_tbps=3e-12)
  assert r['floor_us_per_image'] == pytest.approx((8 + 10 + 2) / 2 * 1e6)
  assert r['floor_img_s'] == pytest.approx(2 / 20)
  assert r['compute_only_us_per_image'] == pytest.approx(11 / 2 * 1e6)
  assert r['memory_bound_fraction'] == pytest.approx(10 / 20)
  assert r['gflops_per_image'] == pytest.approx(11_000 / 2 / 1e9)
  assert r['mbytes_per_image'] == pytest.approx(41 / 2 / 1e6)
  assert [g['group'] for g in r['groups']] == ['a', 'b']
  a = r['groups'][0]
  assert a['floor_us'] == pytest.approx(18 / 2 * 1e6)
  assert a['memory_bound_fraction'] == pytest.approx(10 / 18)
  assert a['forward_output_mbytes'] == pytest.approx(4 / 2 / 1e6)


def test_model_forward_roofline_agrees_with_the_flop_counter(tiny_model):
  """The heavy ops of the model are exactly what lgpn_jax.flops counts."""
  from lgpn_jax.perf import flops
  model, variables, adjacency, size = tiny_model
  fwd = lambda v, x: model.apply(v, x, adjacency)['node_logits']
  x = jax.ShapeDtypeStruct((3, size, size, 3), jnp.float32)
  ops = roofline.heavy_ops(fwd, variables, x)
  counts = flops.matmul_flops_breakdown(fwd, variables, x)
  assert sum(op.flops for op in ops) == sum(counts.values())
  resize = sum(op.flops for op in ops if op.group.endswith('/resize'))
  assert resize == counts['resize']
  assert any(op.group == 'backbone/layer1' for op in ops)
  assert all(op.bytes > 0 for op in ops)
  assert not any(op.backward for op in ops)


@pytest.fixture(scope='module')
def tiny_model():
  from configs import tiny
  from lgpn_jax.red140 import graphs
  from lgpn_jax.models.build import build_model
  config = tiny.get_config()
  model = build_model(config.model)
  adjacency = jnp.asarray(graphs.fold_correlation_graph(
      config.fold, config.graph.tau, config.data.protocol))
  size = config.data.image_size
  x = jax.ShapeDtypeStruct((1, size, size, 3), jnp.float32)
  variables = jax.eval_shape(
      lambda x: model.init({'params': jax.random.key(0, impl='rbg')}, x,
                           adjacency), x)
  return model, variables, adjacency, size
