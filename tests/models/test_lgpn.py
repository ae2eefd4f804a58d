"""LGPN model: tiny forward passes, parameter counts, layer-level numerics.

Compiles dominate this module's time, so the jitted init / forward / training
forward of a model are cached per model (flax modules compare and hash by
their fields) and the tests of the default tiny model share image batches of
3: each program compiles once for the whole module.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import default, released, tiny
from lgpn_jax.red140 import graphs
from lgpn_jax.models import gtc
from lgpn_jax.models.build import build_model

ADJ = jnp.asarray(graphs.fold_correlation_graph(1))


@functools.cache
def _init(net, image_shape, key):
  # 'rbg' keys compile the many initialisers ~3x faster than threefry.
  rng = jax.random.key(key, impl='rbg')
  return jax.jit(lambda x: net.init({'params': rng}, x, ADJ))(
      jnp.zeros((1, *image_shape)))


def init(net, shape, key=0):
  """Variables of ``net`` for images of ``shape`` (they do not depend on the
  batch size, so one batch-1 init per model serves every test)."""
  return _init(net, tuple(shape[1:]), key)


@functools.cache
def _forward(net):
  return jax.jit(lambda v, x: net.apply(v, x, ADJ))


def forward(net, variables, x):
  return _forward(net)(variables, x)


@functools.cache
def _train_forward(net):
  return jax.jit(lambda v, x, key: net.apply(
      v, x, ADJ, train=True, mutable=['batch_stats'], rngs={'dropout': key}))


def train_forward(net, variables, x, key):
  """(outputs, {'batch_stats': updated}) in training mode."""
  return _train_forward(net)(variables, x, key)


def num_params(tree):
  return sum(int(np.prod(p.shape)) for p in jax.tree.leaves(tree))


def images(batch, size=32, seed=0):
  return jax.random.uniform(jax.random.key(seed), (batch, size, size, 3),
                            minval=-1, maxval=1)


@pytest.mark.parametrize('backbone', ['gtc', 'resnet50'])
@pytest.mark.parametrize('head', ['gcn_refinement', 'mlp', 'stacked_gcn',
                                  'att_gcn'])
def test_tiny_forward_every_backbone_and_head(backbone, head):
  cfg = tiny.get_config().model
  cfg.backbone, cfg.head = backbone, head
  net = build_model(cfg)
  x = images(3)
  variables = init(net, x.shape)
  out = forward(net, variables, x)
  assert out['node_logits'].shape == (3, 55)
  assert out['real_fake_logits'].shape == (3, 2)
  assert out['features'].shape == (3, cfg.feature_dim)
  for v in jax.tree.leaves(out):
    assert np.all(np.isfinite(np.asarray(v, np.float32)))
  if head == 'gcn_refinement':
    assert [m.shape[1:] for m in out['matchings']] == [
        (18, 55), (3, 18), (18, 3), (55, 18)]
    # Matching matrices are distributions over the input level's nodes.
    for m in out['matchings']:
      np.testing.assert_allclose(m.sum(-1), 1, rtol=1e-5)
  else:
    assert out['matchings'] == ()


def test_released_variant_has_one_level_and_two_way_classifier():
  cfg = released.get_config().model
  for f in ('feature_dim', 'stem_width', 'stage_sizes', 'widths',
            'pyramid_width', 'head_hidden', 'node_dim'):
    cfg[f] = tiny.get_config().model[f]
  cfg.dtype = 'float32'
  net = build_model(cfg)
  variables = init(net, (2, 32, 32, 3))
  out = forward(net, variables, images(2))
  assert out['node_logits'].shape == (2, 55, 2)
  assert [m.shape[1:] for m in out['matchings']] == [(18, 55), (55, 18)]


def test_pooling_depends_on_the_image():
  net = build_model(tiny.get_config().model)
  x = jnp.concatenate([images(1, seed=s) for s in (1, 2, 3)])
  out = forward(net, init(net, x.shape), x)
  assert not np.allclose(out['matchings'][0][0], out['matchings'][0][1])


def test_dropout_only_in_training():
  net = build_model(tiny.get_config().model)
  x = images(3)
  v = init(net, x.shape)
  a = forward(net, v, x)['node_logits']
  np.testing.assert_array_equal(a, forward(net, v, x)['node_logits'])
  # Batch 8: the same training program as the batch-norm test below.
  x = images(8)
  run = lambda key: train_forward(net, v, x, key)[0]['node_logits']
  t1, t2 = run(jax.random.key(1)), run(jax.random.key(2))
  assert not np.allclose(t1, t2)


def test_bfloat16_compute_keeps_float32_params():
  cfg = tiny.get_config().model
  cfg.dtype = 'bfloat16'
  net = build_model(cfg)
  v = init(net, (3, 32, 32, 3))
  assert {p.dtype for p in jax.tree.leaves(v)} == {jnp.dtype('float32')}
  out = forward(net, v, images(3))
  ref = forward(build_model(tiny.get_config().model), v, images(3))
  np.testing.assert_allclose(out['node_logits'], ref['node_logits'], atol=0.1)


def test_bilinear_upsample_matches_pytorch_align_corners_false():
  rng = np.random.default_rng(0)
  x = rng.normal(size=(1, 4, 5, 2)).astype(np.float32)
  out = np.asarray(gtc.upsample_bilinear(jnp.asarray(x), 8, 20))

  def src_index(dst, scale, size):  # PyTorch: half-pixel, clamped at 0.
    s = max((dst + 0.5) / scale - 0.5, 0.0)
    i0 = min(int(np.floor(s)), size - 1)
    return i0, min(i0 + 1, size - 1), s - i0

  ref = np.zeros((1, 8, 20, 2), np.float32)
  for i in range(8):
    y0, y1, wy = src_index(i, 2.0, 4)
    for j in range(20):
      x0, x1, wx = src_index(j, 4.0, 5)
      top = (1 - wx) * x[0, y0, x0] + wx * x[0, y0, x1]
      bot = (1 - wx) * x[0, y1, x0] + wx * x[0, y1, x1]
      ref[0, i, j] = (1 - wy) * top + wy * bot
  np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)


def reference_used_parameter_count():
  """Parameters of the reference LGP_Net's forward pass, counted by hand."""
  bn = lambda c: 2 * c
  total = 3 * 64 * (7 * 7 + 5 * 5 + 3 * 3) + 3 * bn(64)       # stem convs + BNs
  total += 192 // 2 * 64 + bn(64)                               # grouped fusion
  inplanes = 64
  for blocks, width in zip((3, 4, 6, 3), (64, 128, 256, 512)):
    for b in range(blocks):
      total += inplanes * width + bn(width) + 9 * width * width + bn(width)
      total += width * 4 * width + bn(4 * width)
      if b == 0:
        total += inplanes * 4 * width + bn(4 * width)           # downsample
      inplanes = 4 * width
  total += sum(c * 64 + 64 for c in (256, 512, 1024, 2048))     # laterals
  total += 3 * (9 * 64 * 64 + 64)                               # output branch
  total += (2048 + 64) // 2 * 2048 + bn(2048)                   # smooth_last
  total += 2048 * 512 + 512                                     # fc
  total += 55 * (512 * 512 + 512 + 512 * 128 + 128)             # 55 heads
  total += 6 * (128 * 128 + 128) + 2 * 128                      # W.0-5, a
  total += 128 * 128 + 128                                      # output_mlp
  total += 2 * (128 * 18 + 18) + 2 * (128 * 55 + 55)            # match, corr
  total += 128 * 128 + 128 + 128 * 2 + 2                        # classifier
  total += 640 * 640 + 640 + 640 * 2 + 2                        # real/fake
  return total


def abstract_params(cfg):
  net = build_model(cfg)
  shapes = jax.eval_shape(
      lambda: net.init({'params': jax.random.key(0)},
                       jnp.zeros((1, 256, 256, 3)), ADJ))
  return shapes['params']


def test_full_size_parameter_counts():
  ref = reference_used_parameter_count()
  assert ref == 45_714_326              # the spec's "45.7 M used" of 46.5 M.
  rel = abstract_params(released.get_config().model)
  assert num_params(rel) == ref
  assert num_params(rel['node_heads']) == 18_057_600
  paper = abstract_params(default.get_config().model)
  # The paper's second level (55 -> 18 -> 3 -> 18 -> 55) adds two GCN blocks,
  # match/corr maps to 3 and back to 18; its classifier has one logit, not two;
  # its matching layers have no bias (the released 18- and 55-wide ones do).
  extra = 2 * 2 * (128 * 128 + 128) + 2 * (128 * 3 + 3) + 2 * (128 * 18 + 18)
  extra -= (128 * 2 + 2) - (128 * 1 + 1)
  extra -= 3 + 18 + 18 + 55
  assert num_params(paper) == ref + extra


def test_cross_device_batch_norm_equals_global_batch_statistics(
    synced_bn_equals_global):
  cfg = tiny.get_config().model
  net = build_model(cfg)
  cfg_sync = tiny.get_config().model
  cfg_sync.bn_axis_name = 'data'
  net_sync = build_model(cfg_sync)
  x = images(8)
  v = init(net, x.shape)

  def step(net, v, x):
    out, state = net.apply(v, x, ADJ, train=True, mutable=['batch_stats'],
                           rngs={'dropout': jax.random.key(0)})
    return out['features'], state['batch_stats']

  ref_out, ref_state = train_forward(net, v, x, jax.random.key(0))
  synced_bn_equals_global(step, net, net_sync, v, x,
                          ref=(ref_out['features'], ref_state['batch_stats']))


@pytest.mark.slow
def test_full_config_forward_compiles_at_256_on_cpu():
  net = build_model(default.get_config().model)
  x = jnp.zeros((1, 256, 256, 3))
  variables = jax.jit(
      lambda x: net.init({'params': jax.random.key(0, impl='rbg')}, x, ADJ))(x)
  fwd = jax.jit(lambda v, x: net.apply(v, x, ADJ)['node_logits'])
  lowered = fwd.lower(variables, x)
  flops = lowered.cost_analysis()['flops']
  # XLA counts every op (2 per multiply-add); the reference's 178.9 GFLOPs
  # counts convolutions and matmuls only.
  assert 175e9 < flops < 190e9
  out = lowered.compile()(variables, x)
  assert out.shape == (1, 55) and np.all(np.isfinite(np.asarray(out)))


def test_rematerialised_blocks_give_the_same_loss_and_gradients():
  from lgpn_jax.losses import parsing as losses
  cfgs = [tiny.get_config().model for _ in range(2)]
  for c in cfgs:
    c.head = 'mlp'        # remat is the backbone's; a cheaper head compiles.
  cfgs[1].remat = True
  nets = [build_model(c) for c in cfgs]
  x = images(2)
  v = init(nets[0], x.shape)
  targets = losses.targets_for(tuple(cfgs[0].pool_sizes))
  batch = dict(label=jnp.asarray(np.eye(2, 55)), is_generated=jnp.array([1, 1]))

  def loss(params, net):
    out, _ = net.apply({'params': params, 'batch_stats': v['batch_stats']},
                       x, ADJ, train=True, mutable=['batch_stats'],
                       rngs={'dropout': jax.random.key(0)})
    return losses.total_loss(out, batch, targets, default.get_config().loss)[0]

  results = [jax.jit(jax.value_and_grad(loss), static_argnums=1)(v['params'], n)
             for n in nets]
  np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-6)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4,
                                                       atol=1e-6),
               results[0][1], results[1][1])
