"""upsample_bilinear: 'shifted' (fixed-weight shifted adds) == 'resize'.

Numbers against jax.image.resize and an independent numpy transcription of
PyTorch's bilinear interpolation (align_corners=False), gradients, the whole
tiny model, the fallback for non-integer factors, config validation and FLOPs.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import default, tiny
from lgpn_jax.perf import flops
from lgpn_jax.red140 import graphs
from lgpn_jax.models import gtc
from lgpn_jax.models.build import build_model

ADJ = jnp.asarray(graphs.fold_correlation_graph(1))


def torch_bilinear(x: np.ndarray, height: int, width: int) -> np.ndarray:
  """PyTorch F.interpolate(mode='bilinear', align_corners=False), NHWC numpy:
  source coordinate (dst + 0.5) * in / out - 0.5, clamped below at 0; the
  upper neighbour's index clamped to the last row/column."""

  def taps(out_size, in_size):
    src = np.maximum((np.arange(out_size) + 0.5) * in_size / out_size - 0.5, 0)
    i0 = np.minimum(np.floor(src).astype(int), in_size - 1)
    i1 = np.minimum(i0 + 1, in_size - 1)
    return i0, i1, src - i0

  x = x.astype(np.float64)
  y0, y1, wy = taps(height, x.shape[1])
  x0, x1, wx = taps(width, x.shape[2])
  wy, wx = wy[None, :, None, None], wx[None, None, :, None]
  rows = (1 - wy) * x[:, y0] + wy * x[:, y1]
  return (1 - wx) * rows[:, :, x0] + wx * rows[:, :, x1]


def rand(shape, seed=0):
  return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


@functools.partial(jax.jit, static_argnums=(1, 2))
def resize(x, height, width):
  return gtc.upsample_bilinear(x, height, width, 'resize')


@functools.partial(jax.jit, static_argnums=(1, 2))
def shifted(x, height, width):
  return gtc.upsample_bilinear(x, height, width, 'shifted')


FACTORS = [(2, 2), (4, 4), (8, 8), (2, 4), (4, 1)]


@pytest.mark.parametrize('fh,fw,channels', [(2, 2, 1), (4, 4, 3), (8, 8, 8),
                                            (2, 4, 5), (4, 1, 2), (8, 2, 3)])
def test_shifted_equals_jax_image_resize(fh, fw, channels):
  x = jnp.asarray(rand((3, 4, 5, channels), seed=fh * 10 + fw + channels))
  size = (4 * fh, 5 * fw)
  got = shifted(x, *size)
  want = resize(x, *size)
  assert got.shape == want.shape == (3, *size, channels)
  assert got.dtype == jnp.float32
  np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)


@pytest.mark.parametrize('fh,fw', FACTORS + [(3, 2), (1, 8)])
def test_shifted_matches_pytorch_align_corners_false(fh, fw):
  x = rand((2, 3, 4, 2), seed=1)
  got = np.asarray(shifted(jnp.asarray(x), 3 * fh, 4 * fw))
  np.testing.assert_allclose(got, torch_bilinear(x, 3 * fh, 4 * fw),
                             rtol=0, atol=1e-6)


def test_one_by_one_input_and_identity():
  x = jnp.asarray(rand((2, 1, 1, 3)))
  np.testing.assert_allclose(shifted(x, 8, 8),
                             np.broadcast_to(x, (2, 8, 8, 3)), atol=0)
  y = jnp.asarray(rand((2, 4, 4, 3)))
  assert gtc.upsample_bilinear(y, 4, 4, 'shifted') is y


@pytest.mark.parametrize('fh,fw', [(2, 2), (8, 8), (2, 4)])
def test_gradients_equal_jax_image_resize(fh, fw):
  x = jnp.asarray(rand((2, 3, 4, 3), seed=2))
  size = (3 * fh, 4 * fw)
  cot = jnp.asarray(rand((2, *size, 3), seed=3))
  grad = lambda f: jax.jit(jax.grad(lambda x: jnp.sum(f(x, *size) * cot)))(x)
  np.testing.assert_allclose(grad(shifted), grad(resize), rtol=0, atol=1e-5)


def test_bfloat16_input_keeps_its_dtype():
  x = jnp.asarray(rand((2, 4, 4, 8), seed=4)).astype(jnp.bfloat16)
  got, want = shifted(x, 16, 32), resize(x, 16, 32)
  assert got.dtype == want.dtype == jnp.bfloat16
  # float32 arithmetic, one rounding to bfloat16: within 1 bf16 ulp of exact.
  exact = torch_bilinear(np.asarray(x, np.float32), 16, 32)
  np.testing.assert_allclose(np.asarray(got, np.float32), exact,
                             rtol=2 ** -8, atol=1e-6)
  np.testing.assert_allclose(np.asarray(got, np.float32),
                             np.asarray(want, np.float32), rtol=2 ** -7,
                             atol=1e-2)


@pytest.mark.parametrize('in_hw,out_hw', [((3, 5), (8, 7)),    # neither integer
                                          ((4, 4), (6, 8)),    # H x1.5, W x2
                                          ((4, 4), (8, 6))])   # H x2, W x1.5
def test_non_integer_factor_falls_back_to_resize(in_hw, out_hw):
  x = rand((2, *in_hw, 3), seed=5)
  got = shifted(jnp.asarray(x), *out_hw)
  np.testing.assert_array_equal(got, resize(jnp.asarray(x), *out_hw))
  np.testing.assert_allclose(got, torch_bilinear(x, *out_hw), atol=1e-6)
  jaxpr = str(jax.make_jaxpr(shifted, static_argnums=(1, 2))(x, *out_hw))
  assert 'dot_general' in jaxpr        # jax.image.resize's matmuls.


def test_shifted_has_no_matmuls_or_gathers():
  x = jnp.zeros((2, 4, 4, 3))
  jaxpr = str(jax.make_jaxpr(shifted, static_argnums=(1, 2))(x, 32, 16))
  assert 'dot_general' not in jaxpr and 'gather' not in jaxpr


def tiny_config(upsample):
  cfg = tiny.get_config().model
  cfg.upsample = upsample
  return cfg


def random_variables(net, x):
  """Random parameters and BatchNorm statistics (no initialiser to compile)."""
  shapes = jax.eval_shape(
      lambda x: net.init({'params': jax.random.key(0)}, x, ADJ), x)
  rng = np.random.default_rng(0)

  def fill(path, leaf):
    name = jax.tree_util.keystr(path)
    if "'var'" in name or "'scale'" in name:
      value = rng.uniform(0.5, 1.5, leaf.shape)
    elif len(leaf.shape) >= 2:             # kernels: std 1 / sqrt(fan-in).
      value = rng.normal(size=leaf.shape) / np.sqrt(np.prod(leaf.shape[:-1]))
    else:                                  # biases, BatchNorm means.
      value = 0.1 * rng.normal(size=leaf.shape)
    return jnp.asarray(value, leaf.dtype)

  return jax.tree_util.tree_map_with_path(fill, shapes)


def test_tiny_model_outputs_equal_with_either_upsampling():
  nets = [build_model(tiny_config(u)) for u in ('resize', 'shifted')]
  x = jax.random.uniform(jax.random.key(0), (2, 32, 32, 3), minval=-1,
                         maxval=1)
  v = random_variables(nets[0], x)
  # One program for both (XLA shares the backbone up to the upsampling).
  both = jax.jit(lambda v, x: [n.apply(v, x, ADJ) for n in nets])
  outs = both(v, x)
  leaves = [jax.tree.leaves(o) for o in outs]
  assert len(leaves[0]) == len(leaves[1]) > 0
  for a, b in zip(*leaves):
    np.testing.assert_allclose(np.asarray(a, np.float32),
                               np.asarray(b, np.float32), rtol=1e-5, atol=1e-5)


def test_default_is_resize_and_old_configs_still_build():
  assert default.get_config().model.upsample == 'resize'
  assert build_model(tiny.get_config().model).backbone.upsample == 'resize'
  old = tiny.get_config().model          # a config.json saved before the field.
  del old['upsample']
  assert build_model(old).backbone.upsample == 'resize'


def test_bad_upsample_value_raises_a_clear_error():
  with pytest.raises(ValueError, match=r"model\.upsample must be one of "
                     r"\('resize', 'shifted'\), got 'bicubic'"):
    build_model(tiny_config('bicubic'))
  with pytest.raises(ValueError, match='upsample must be one of'):
    gtc.upsample_bilinear(jnp.zeros((1, 2, 2, 1)), 4, 4, 'nearest')
  with pytest.raises(ValueError, match='upsample must be one of'):
    gtc.GTC(upsample='nearest').init(jax.random.key(0),
                                     jnp.zeros((1, 8, 8, 3)), False)


def test_flops_shifted_model_has_no_resize_matmuls():
  counts = {}
  for u in ('resize', 'shifted'):
    net = build_model(tiny_config(u))
    x = jax.ShapeDtypeStruct((1, 32, 32, 3), jnp.float32)
    v = jax.eval_shape(
        lambda x, net=net: net.init({'params': jax.random.key(0)}, x, ADJ), x)
    counts[u] = flops.matmul_flops_breakdown(
        lambda v, x, net=net: net.apply(v, x, ADJ)['node_logits'], v, x)
  assert counts['resize']['resize'] > 0
  assert counts['shifted']['resize'] == 0
  for kind in ('conv', 'matmul'):
    assert counts['shifted'][kind] == counts['resize'][kind] > 0
