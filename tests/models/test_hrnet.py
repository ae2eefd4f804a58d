"""HRNet backbone: numbers against a float64 numpy reimplementation, every
branch reaching the output, gradients, BatchNorm folding, parameter count.

The tiny model (32x32 images, 4..32-channel branches, one module per stage,
one block per branch) runs in eval mode with random BatchNorm scales, biases
and running statistics, so every BatchNorm is a non-trivial affine map. The
jitted forward is cached per model: each program compiles once per module.
"""

from __future__ import annotations

import functools
import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lgpn_jax.models.hrnet import Fuse, HRHead, HRNet

TINY = dict(features=6, stem_width=8, stage1_width=4, stage1_blocks=1,
            width=4, num_modules=(1, 1, 1), num_blocks=1,
            head_widths=(2, 4, 4, 8), final_width=16)
EPS = 1e-5   # PyTorch's BatchNorm epsilon.


def randomize(variables, seed=1):
  """Random BN scales/biases/statistics and conv biases (kernels kept)."""
  rng = np.random.default_rng(seed)

  def draw(path, leaf):
    name = path[-1].key
    if name in ('scale', 'var'):
      return jnp.asarray(rng.uniform(0.5, 1.5, leaf.shape), leaf.dtype)
    if name in ('bias', 'mean'):
      return jnp.asarray(rng.normal(0, 0.2, leaf.shape), leaf.dtype)
    return leaf
  return jax.tree_util.tree_map_with_path(draw, variables)


def images(batch, size=32, seed=0):
  return jax.random.uniform(jax.random.key(seed), (batch, size, size, 3),
                            minval=-1, maxval=1)


@functools.cache
def tiny_variables(net):
  variables = jax.jit(lambda x: net.init(jax.random.key(0), x, train=False))(
      jnp.zeros((1, 32, 32, 3)))
  return randomize(variables)


# --- float64 numpy reference ------------------------------------------------

def np_conv(x, p, stride=1):
  """PyTorch-style convolution: symmetric zero padding k // 2, HWIO kernel."""
  kernel = np.asarray(p['kernel'], np.float64)
  k = kernel.shape[0]
  pad = k // 2
  xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
  ho = (x.shape[1] + 2 * pad - k) // stride + 1
  wo = (x.shape[2] + 2 * pad - k) // stride + 1
  out = np.zeros((x.shape[0], ho, wo, kernel.shape[-1]))
  for di in range(k):
    for dj in range(k):
      patch = xp[:, di:di + stride * (ho - 1) + 1:stride,
                 dj:dj + stride * (wo - 1) + 1:stride]
      out += patch @ kernel[di, dj]
  if 'bias' in p:
    out += np.asarray(p['bias'], np.float64)
  return out


def np_bn(x, p, s):
  f = lambda a: np.asarray(a, np.float64)
  return (x - f(s['mean'])) / np.sqrt(f(s['var']) + EPS) * f(p['scale']) + f(
      p['bias'])


def relu(x):
  return np.maximum(x, 0)


def up(x, f):
  """Nearest upsampling: out[h, w] = x[h // f, w // f]."""
  rows = np.arange(x.shape[1] * f) // f
  cols = np.arange(x.shape[2] * f) // f
  return x[:, rows][:, :, cols]


def cbn(p, s, x, conv, bn, stride=1):
  return np_bn(np_conv(x, p[conv], stride), p[bn], s[bn])


def np_basic(p, s, x):
  y = relu(cbn(p, s, x, 'conv1', 'bn1'))
  y = cbn(p, s, y, 'conv2', 'bn2')
  return relu(y + x)   # every tiny block keeps its width: no projection.


def np_bottleneck(p, s, x):
  y = relu(cbn(p, s, x, 'conv1', 'bn1'))
  y = relu(cbn(p, s, y, 'conv2', 'bn2'))
  y = cbn(p, s, y, 'conv3', 'bn3')
  if 'downsample_conv' in p:
    x = cbn(p, s, x, 'downsample_conv', 'downsample_bn')
  return relu(y + x)


def np_fuse3(p, s, x0, x1, x2):
  """The three-branch fusion written out term by term."""
  c = lambda x, name, stride=1: cbn(p, s, x, f'{name}_conv', f'{name}_bn',
                                    stride)
  out0 = x0 + up(c(x1, 'to0_from1'), 2) + up(c(x2, 'to0_from2'), 4)
  out1 = c(x0, 'to1_from0_step0', 2) + x1 + up(c(x2, 'to1_from2'), 2)
  out2 = (c(relu(c(x0, 'to2_from0_step0', 2)), 'to2_from0_step1', 2)
          + c(x1, 'to2_from1_step0', 2) + x2)
  return [relu(out0), relu(out1), relu(out2)]


def np_fuse(p, s, xs):
  if len(xs) == 3:
    return np_fuse3(p, s, *xs)
  outs = []
  for i in range(len(xs)):
    total = 0
    for j, x in enumerate(xs):
      if j > i:
        y = up(cbn(p, s, x, f'to{i}_from{j}_conv', f'to{i}_from{j}_bn'),
               2 ** (j - i))
      elif j < i:
        y = x
        for k in range(i - j):
          name = f'to{i}_from{j}_step{k}'
          y = cbn(p, s, y, f'{name}_conv', f'{name}_bn', 2)
          y = y if k == i - j - 1 else relu(y)
      else:
        y = x
      total = total + y
    outs.append(relu(total))
  return outs


def np_hrnet_tiny(variables, x):
  """Eval-mode TINY HRNet, float64."""
  p, s = variables['params'], variables['batch_stats']
  x = np.asarray(x, np.float64)
  x = relu(cbn(p, s, x, 'conv1', 'bn1', 2))
  x = relu(cbn(p, s, x, 'conv2', 'bn2', 2))
  x = np_bottleneck(p['layer1_0'], s['layer1_0'], x)
  xs = [x]
  for stage in (2, 3, 4):
    new = []
    for i in range(stage):
      name = f'transition{stage}_{i}'
      if i < len(xs) and f'{name}_conv' not in p:
        new.append(xs[i])
      else:
        src, stride = (xs[i], 1) if i < len(xs) else (xs[-1], 2)
        new.append(relu(cbn(p, s, src, f'{name}_conv', f'{name}_bn', stride)))
    mp, ms = p[f'stage{stage}_0'], s[f'stage{stage}_0']
    xs = [np_basic(mp[f'branch{i}_0'], ms[f'branch{i}_0'], y)
          for i, y in enumerate(new)]
    xs = np_fuse(mp['fuse'], ms['fuse'], xs)
  hp, hs = p['head'], s['head']
  y = None
  for i, x in enumerate(xs):
    x = np_bottleneck(hp[f'incre{i}'], hs[f'incre{i}'], x)
    if y is not None:
      x = x + relu(cbn(hp, hs, y, f'downsamp{i - 1}_conv',
                       f'downsamp{i - 1}_bn', 2))
    y = x
  y = relu(cbn(hp, hs, y, 'final_conv', 'final_bn'))
  pooled = y.mean(axis=(1, 2))
  fc = p['fc']
  return pooled @ np.asarray(fc['kernel'], np.float64) + np.asarray(
      fc['bias'], np.float64)


# --- the tests ---------------------------------------------------------------

HEAD_INPUTS = [(2, 8, 8, 4), (2, 4, 4, 8), (2, 2, 2, 16), (2, 1, 1, 32)]


@functools.cache
def forward_with_deltas(net):
  """jit(variables, x, deltas): eval forward, with deltas[i] added to branch i
  where it enters the head (asserting the branches' shapes)."""
  def run(variables, x, deltas):
    def interceptor(next_fun, args, kwargs, context):
      if isinstance(context.module, HRHead) and context.method_name == '__call__':
        xs, *rest = args
        assert [y.shape for y in xs] == [d.shape for d in deltas]
        xs = [y + d for y, d in zip(xs, deltas)]
        return next_fun(xs, *rest, **kwargs)
      return next_fun(*args, **kwargs)
    with nn.intercept_methods(interceptor):
      return net.apply(variables, x, train=False)
  return jax.jit(run)


def zero_deltas():
  return [jnp.zeros(shape) for shape in HEAD_INPUTS]


def test_tiny_hrnet_matches_numpy():
  net = HRNet(**TINY)
  variables = tiny_variables(net)
  x = images(2)
  out = forward_with_deltas(net)(variables, x, zero_deltas())
  ref = np_hrnet_tiny(variables, x)
  assert out.shape == (2, TINY['features'])
  np.testing.assert_allclose(out, ref, rtol=1e-5,
                             atol=1e-5 * np.abs(ref).max())


def test_every_branch_reaches_the_output():
  net = HRNet(**TINY)
  variables = tiny_variables(net)
  x = images(2)
  run = forward_with_deltas(net)
  base = np.asarray(run(variables, x, zero_deltas()))
  rng = np.random.default_rng(3)
  for branch, shape in enumerate(HEAD_INPUTS):
    deltas = zero_deltas()
    deltas[branch] = jnp.asarray(rng.normal(0, 1, shape), jnp.float32)
    changed = np.asarray(run(variables, x, deltas))
    assert np.abs(changed - base).max() > 1e-3 * np.abs(base).max(), branch


def test_fusion_matches_numpy():
  """Three branches: 1x1 conv + BN + nearest upsampling (by 2 and 4), one and
  two strided 3x3 steps (ReLU between them only), identity, then ReLU."""
  widths = (2, 3, 4)
  fuse = Fuse(widths, num_outputs=3)
  rng = np.random.default_rng(0)
  xs = [jnp.asarray(rng.normal(0, 1, (2, 8 // 2 ** i, 8 // 2 ** i, w)),
                    jnp.float32) for i, w in enumerate(widths)]
  variables = randomize(fuse.init(jax.random.key(0), xs, train=False), seed=2)
  assert sorted(variables['params']) == sorted(
      ['to0_from1_conv', 'to0_from1_bn', 'to0_from2_conv', 'to0_from2_bn',
       'to1_from0_step0_conv', 'to1_from0_step0_bn', 'to1_from2_conv',
       'to1_from2_bn', 'to2_from0_step0_conv', 'to2_from0_step0_bn',
       'to2_from0_step1_conv', 'to2_from0_step1_bn', 'to2_from1_step0_conv',
       'to2_from1_step0_bn'])
  # The first of two steps keeps the source width, the last one changes it.
  assert variables['params']['to2_from0_step0_conv']['kernel'].shape == (
      3, 3, 2, 2)
  outs = jax.jit(lambda v, xs: fuse.apply(v, xs, train=False))(variables, xs)
  refs = np_fuse3(variables['params'], variables['batch_stats'],
                  *[np.asarray(x, np.float64) for x in xs])
  for out, ref in zip(outs, refs):
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)


# The head's downsampling and final convolutions have a bias that BatchNorm
# follows: with batch statistics its gradient is zero up to rounding.
DEAD_BIASES = {('head', 'downsamp0_conv', 'bias'),
               ('head', 'downsamp1_conv', 'bias'),
               ('head', 'downsamp2_conv', 'bias'),
               ('head', 'final_conv', 'bias')}


def test_every_parameter_gets_a_gradient():
  net = HRNet(**TINY)
  variables = tiny_variables(net)
  x = images(4, seed=5)
  w = jax.random.normal(jax.random.key(7), (4, TINY['features']))

  def loss(params):
    out, _ = net.apply({'params': params,
                        'batch_stats': variables['batch_stats']}, x,
                       train=True, mutable=['batch_stats'])
    return jnp.sum(out * w)
  grads = jax.jit(jax.grad(loss))(variables['params'])
  flat = {tuple(k.key for k in path): np.abs(np.asarray(g)).max()
          for path, g in jax.tree_util.tree_leaves_with_path(grads)}
  scale = max(flat.values())
  assert DEAD_BIASES <= set(flat)
  for name, g in flat.items():
    if name in DEAD_BIASES:
      assert g < 1e-5 * scale, name
    else:
      assert g > 1e-6 * scale, name


def test_folded_form_matches():
  from lgpn_jax.models.bn_fold import fold_variables
  net = HRNet(**TINY)
  variables = tiny_variables(net)
  folded_net = HRNet(**TINY, fold_bn=True)
  folded = fold_variables(variables, {'backbone': 'hrnet'})
  assert 'batch_stats' not in folded
  x = images(2)
  out = forward_with_deltas(net)(variables, x, zero_deltas())
  folded_out = jax.jit(lambda v, x: folded_net.apply(v, x, train=False))(
      folded, x)
  np.testing.assert_allclose(folded_out, out, rtol=1e-4,
                             atol=1e-4 * np.abs(out).max())
  with pytest.raises(ValueError, match='fold_bn=True'):
    folded_net.apply(folded, x, train=True)


def test_image_size_must_be_a_multiple_of_32():
  with pytest.raises(ValueError, match='multiples of 32'):
    jax.eval_shape(lambda: HRNet(**TINY).init(
        jax.random.key(0), jnp.zeros((1, 48, 32, 3)), train=False))


# --- parameter count of HRNet-W32, from its layer list ----------------------

def conv_params(k, cin, cout, bias=False):
  return k * k * cin * cout + (cout if bias else 0)


def conv_bn_params(k, cin, cout, bias=False):
  return conv_params(k, cin, cout, bias) + 2 * cout   # BN scale and bias.


def bottleneck_params(cin, width):
  out = 4 * width
  n = (conv_bn_params(1, cin, width) + conv_bn_params(3, width, width)
       + conv_bn_params(1, width, out))
  return n + (conv_bn_params(1, cin, out) if cin != out else 0)


def fusion_params(widths):
  n = 0
  for i, wi in enumerate(widths):
    for j, wj in enumerate(widths):
      if j > i:
        n += conv_bn_params(1, wj, wi)
      elif j < i:
        n += (i - j - 1) * conv_bn_params(3, wj, wj) + conv_bn_params(3, wj, wi)
  return n


def hrnet_w32_params(features):
  n = conv_bn_params(3, 3, 64) + conv_bn_params(3, 64, 64)          # stem
  n += bottleneck_params(64, 64) + 3 * bottleneck_params(256, 64)   # stage 1
  n += conv_bn_params(3, 256, 32) + conv_bn_params(3, 256, 64)      # to stage 2
  n += conv_bn_params(3, 64, 128) + conv_bn_params(3, 128, 256)     # new branches
  for modules, widths in ((1, (32, 64)), (4, (32, 64, 128)),
                          (3, (32, 64, 128, 256))):
    blocks = sum(4 * 2 * conv_bn_params(3, w, w) for w in widths)
    n += modules * (blocks + fusion_params(widths))
  n += sum(bottleneck_params(w, h) for w, h in
           zip((32, 64, 128, 256), (32, 64, 128, 256)))             # incre
  n += sum(conv_bn_params(3, cin, cout, bias=True)
           for cin, cout in ((128, 256), (256, 512), (512, 1024)))  # downsamp
  n += conv_bn_params(1, 1024, 2048, bias=True)                     # final
  return n + 2048 * features + features                             # fc


def count_params(net, size):
  shapes = jax.eval_shape(lambda: net.init(
      jax.random.key(0), jnp.zeros((1, size, size, 3)), train=False))
  return sum(math.prod(p.shape) for p in jax.tree.leaves(shapes['params']))


def test_w32_parameter_count():
  assert hrnet_w32_params(512) == 40_232_768
  assert count_params(HRNet(features=512), 256) == 40_232_768
  # With a 1000-way classifier: the published 41.2M of HRNet-W32-C.
  assert hrnet_w32_params(1000) == 41_232_680
  assert count_params(HRNet(features=1000), 224) == 41_232_680


def test_bfloat16_compute_float32_parameters():
  net = HRNet(**TINY, dtype=jnp.bfloat16)
  out, variables = jax.eval_shape(lambda: net.init_with_output(
      jax.random.key(0), jnp.zeros((2, 32, 32, 3)), train=False))
  assert out.dtype == jnp.bfloat16
  assert {v.dtype for v in jax.tree.leaves(variables)} == {np.dtype(np.float32)}


def test_cross_device_batch_norm_equals_global_batch_statistics(
    synced_bn_equals_global):
  """With bn_axis_name, 8 devices of one image each normalise with the
  statistics of the whole batch of 8, as one device would."""
  net, net_sync = HRNet(**TINY), HRNet(**TINY, bn_axis_name='data')

  def step(net, variables, x):
    return net.apply(variables, x, train=True, mutable=['batch_stats'])

  synced_bn_equals_global(step, net, net_sync, tiny_variables(net), images(8))
