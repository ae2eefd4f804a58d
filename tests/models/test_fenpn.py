"""FEN-PN: the whole tiny forward against a float64 numpy reimplementation
(FEN with BatchNorm in eval mode with random statistics, the PN's padded
convolutions and poolings, both branches, every head and the per-node
feature layout), cross-device BatchNorm, bf16 compute, parameter counts."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import fenpn, fenpn_tiny
from lgpn_jax.tasks.fenpn import build_model

EPS = 1e-5   # PyTorch's BatchNorm epsilon.


def tiny_model(**overrides):
  cfg = fenpn_tiny.get_config().model
  cfg.update(overrides)
  return build_model(cfg)


def images(batch, size=32, seed=0):
  return jax.random.uniform(jax.random.key(seed), (batch, size, size, 3),
                            minval=-1, maxval=1)


def perturbed(variables, seed=1):
  """Every variable plus |N(0, 0.2)| noise: non-zero biases, BatchNorm
  affine maps and running statistics (variances stay positive)."""
  leaves, tree = jax.tree.flatten(variables)
  rng = np.random.default_rng(seed)
  return tree.unflatten([a + 0.2 * np.abs(rng.normal(size=a.shape)).astype(
      np.float32) for a in leaves])


@functools.cache
def tiny_variables():
  net = tiny_model()
  v = jax.jit(lambda x: net.init(jax.random.key(0), x, None))(images(1))
  return perturbed(v)


# --- float64 numpy reference ------------------------------------------------

def f64(a):
  return np.asarray(a, np.float64)


def np_conv(x, p, pad):
  """3x3 convolution, stride 1, zero padding ``pad`` on every side (HWIO)."""
  k = f64(p['kernel'])
  xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
  ho, wo = xp.shape[1] - 2, xp.shape[2] - 2
  out = sum(xp[:, i:i + ho, j:j + wo] @ k[i, j]
            for i in range(3) for j in range(3))
  return out + f64(p['bias']) if 'bias' in p else out


def np_bn(x, p, s):
  return (x - f64(s['mean'])) / np.sqrt(f64(s['var']) + EPS) * f64(
      p['scale']) + f64(p['bias'])


def relu(x):
  return np.maximum(x, 0)


def np_pool(x):
  """2x2 max pooling, stride 2, odd remainders dropped (PyTorch's floor)."""
  h, w = x.shape[1] // 2 * 2, x.shape[2] // 2 * 2
  x = x[:, :h, :w]
  return x.reshape(x.shape[0], h // 2, 2, w // 2, 2, -1).max(axis=(2, 4))


def np_dense(x, p):
  return x @ f64(p['kernel']) + f64(p['bias'])


def np_fenpn(v, x, layers=3, convs=5, branch=2, hyper=None):
  p, s = v['params'], v['batch_stats']
  fp, fs = p['fen'], s['fen']
  y = relu(np_conv(f64(x), fp['conv_0'], 1))
  for i in range(1, layers - 1):
    y = np_conv(y, fp[f'conv_{i}'], 1)
    y = relu(np_bn(y, fp[f'bn_{i}'], fs[f'bn_{i}']))
  fingerprint = np_conv(y, fp[f'conv_{layers - 1}'], 1)
  pp = p['pn']
  y = fingerprint
  for i in range(convs):
    y = np_pool(relu(np_conv(y, pp[f'conv_{i}'], 2)))
  trunk = relu(np_dense(y.reshape(len(y), -1), pp['trunk']))
  h = {}
  for name in ('loss', 'arch'):
    h[name] = trunk
    for j in range(branch):
      h[name] = relu(np_dense(h[name], pp[f'{name}_{j}']))
  cluster = np_dense(h['arch'], pp['clusters'])
  deviation = np_dense(h['arch'], pp['deviation'])
  logits = np.concatenate([np_dense(h['loss'], pp['loss_nodes']),
                           np_dense(h['arch'], pp['arch_nodes'])], -1)
  probs = np.exp(cluster - cluster.max(-1, keepdims=True))
  probs /= probs.sum(-1, keepdims=True)
  rows = []
  for n, hp in enumerate(hyper):   # node by node, as the module doc says.
    branch_f = h['loss'] if n < 10 else h['arch']
    own = deviation[:, hp:hp + 1] if hp >= 0 else np.zeros((len(x), 1))
    rows.append(np.concatenate([branch_f, probs, own], -1))
  return dict(fingerprint=fingerprint, node_logits=logits,
              cluster_logits=cluster, deviation=deviation,
              node_features=np.stack(rows, 1))


def test_tiny_forward_matches_the_numpy_reference():
  net = tiny_model()
  v = tiny_variables()
  x = images(3)
  got = jax.jit(lambda v, x: net.apply(v, x, None, train=False))(v, x)
  ref = np_fenpn(v, x, hyper=net.node_hyperparameter)
  for key, want in ref.items():
    np.testing.assert_allclose(got[key], want, rtol=2e-4, atol=2e-5,
                               err_msg=key)
  # Each continuous node carries its own hyperparameter's deviation.
  assert got['node_features'].shape == (3, 55, 8 + 4 + 1)
  assert 'real_fake_logits' not in got       # no real/generated head.
  assert got['masks'] == got['matchings'] == got['correlations'] == ()


def test_pn_maps_grow_by_two_before_each_pooling():
  """Padding 2 grows each map by 2: 32 -> 34/17 -> 19/9 -> 11/5 -> 7/3 ->
  5/2, so the trunk reads 2 * 2 * 16 values."""
  assert tiny_variables()['params']['pn']['trunk']['kernel'].shape == (64, 32)


def test_cross_device_batch_norm_equals_global_batch_statistics(
    synced_bn_equals_global):
  net, net_sync = tiny_model(), tiny_model(bn_axis_name='data')

  def step(net, v, x):
    out, state = net.apply(v, x, None, train=True, mutable=['batch_stats'],
                           rngs={'dropout': jax.random.key(0)})
    return out['fingerprint'], state['batch_stats']

  synced_bn_equals_global(step, net, net_sync, tiny_variables(), images(8))


def test_bfloat16_compute_keeps_float32_parameters_and_outputs():
  net = tiny_model(dtype='bfloat16')
  v = tiny_variables()
  x = images(2)
  out = jax.jit(lambda v, x: net.apply(v, x, None))(v, x)
  ref = jax.jit(lambda v, x: tiny_model().apply(v, x, None))(v, x)
  for key in ('node_logits', 'node_features', 'fingerprint', 'deviation'):
    assert out[key].dtype == jnp.float32, key
    scale = float(jnp.max(jnp.abs(ref[key]))) + 1e-6
    assert float(jnp.max(jnp.abs(out[key] - ref[key]))) < 0.05 * scale, key
  init = jax.eval_shape(lambda x: net.init(jax.random.key(0), x, None), x)
  dtypes = {a.dtype for a in jax.tree.leaves(init['params'])}
  assert dtypes == {np.dtype('float32')}


@pytest.mark.parametrize('size, params', [(128, 8_981_583), (256, 23_661_647)])
def test_parameter_counts_of_the_paper_config(size, params):
  """FEN 558,403; PN trunk 512 x (512 x s x s) + 512 grows with the input
  size s of the last map (5 at 128, 9 at 256)."""
  cfg = fenpn.get_config().model
  net = build_model(cfg)
  v = jax.eval_shape(lambda x: net.init(jax.random.key(0), x, None),
                     jax.ShapeDtypeStruct((1, size, size, 3), jnp.float32))
  count = lambda t: sum(int(a.size) for a in jax.tree.leaves(t))
  fen = 3 * 9 * 64 + 64 + 15 * (64 * 9 * 64 + 2 * 64) + 64 * 9 * 3 + 3
  assert count(v['params']['fen']) == fen == 558_403
  side = {128: 5, 256: 9}[size]
  assert v['params']['pn']['trunk']['kernel'].shape == (512 * side * side, 512)
  assert count(v['params']) == params
