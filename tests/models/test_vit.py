"""ViT backbone: numbers against a float64 numpy reimplementation, bfloat16
precision, the position-embedding size contract, gradients, parameter count.

The tiny model (32x32 images, 8x8 patches -> 16 tokens + the class token,
width 16, 2 blocks of 2 heads, MLP 24) runs with random biases, LayerNorm
scales, class token and position embeddings, so no parameter is trivial.
The numpy reference uses LayerNorm epsilon 1e-6 and the exact (erf) GELU, the
choices of lgpn_jax/models/vit.py.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.extend  # noqa: F401 (makes jax.extend.core available)
import jax.numpy as jnp
import numpy as np
import pytest

from lgpn_jax.models import vit
from lgpn_jax.models.vit import PatchEmbed, ViT

TINY = dict(features=5, patch=8, width=16, depth=2, heads=2, mlp_dim=24)
LN_EPS = 1e-6


def randomize(variables, seed=1):
  rng = np.random.default_rng(seed)

  def draw(path, leaf):
    name = path[-1].key
    if name == 'scale':
      return jnp.asarray(rng.uniform(0.5, 1.5, leaf.shape), leaf.dtype)
    if name in ('bias', 'cls_token', 'pos_embed'):
      return jnp.asarray(rng.normal(0, 0.3, leaf.shape), leaf.dtype)
    return leaf
  return jax.tree_util.tree_map_with_path(draw, variables)


def images(batch, size=32, seed=0):
  return jax.random.uniform(jax.random.key(seed), (batch, size, size, 3),
                            minval=-1, maxval=1)


@functools.cache
def tiny_variables(net):
  return randomize(net.init(jax.random.key(0), jnp.zeros((1, 32, 32, 3)),
                            train=False))


@functools.cache
def forward(net):
  return jax.jit(lambda v, x: net.apply(v, x, train=False))


# --- float64 numpy reference ------------------------------------------------

def f64(a):
  return np.asarray(a, np.float64)


def np_dense(x, p):
  return x @ f64(p['kernel']) + f64(p['bias'])


def np_patches(x, patch):
  """[B, H, W, C] -> [B, N, patch * patch * C], patches row-major, each
  flattened (row, column, channel) like an HWIO kernel."""
  b, h, w, c = x.shape
  x = x.reshape(b, h // patch, patch, w // patch, patch, c)
  return x.transpose(0, 1, 3, 2, 4, 5).reshape(b, -1, patch * patch * c)


def np_patch_embed(x, p, patch):
  kernel = f64(p['kernel'])
  return np_patches(f64(x), patch) @ kernel.reshape(-1, kernel.shape[-1]) + f64(
      p['bias'])


def np_layer_norm(x, p):
  mean = x.mean(-1, keepdims=True)
  var = ((x - mean) ** 2).mean(-1, keepdims=True)
  return (x - mean) / np.sqrt(var + LN_EPS) * f64(p['scale']) + f64(p['bias'])


def np_gelu(x):
  return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def np_softmax(z):
  e = np.exp(z - z.max(-1, keepdims=True))
  return e / e.sum(-1, keepdims=True)


def np_attention(x, p, heads):
  """qkv's outputs are [q | k | v], each split into heads of d channels."""
  width = x.shape[-1]
  d = width // heads
  qkv = np_dense(x, p['qkv'])
  q, k, v = qkv[..., :width], qkv[..., width:2 * width], qkv[..., 2 * width:]
  outs = []
  for h in range(heads):
    sl = slice(h * d, (h + 1) * d)
    weights = np_softmax(q[..., sl] @ k[..., sl].transpose(0, 2, 1)
                         / math.sqrt(d))
    outs.append(weights @ v[..., sl])
  return np_dense(np.concatenate(outs, axis=-1), p['proj'])


def np_vit(variables, x, patch, heads):
  p = variables['params']
  tokens = np_patch_embed(x, p['patch_embed']['proj'], patch)
  cls = np.broadcast_to(f64(p['cls_token']), (x.shape[0], 1, tokens.shape[-1]))
  x = np.concatenate([cls, tokens], axis=1) + f64(p['pos_embed'])
  depth = sum(name.startswith('block') for name in p)
  for i in range(depth):
    b = p[f'block{i}']
    x = x + np_attention(np_layer_norm(x, b['norm1']), b['attn'], heads)
    y = np_gelu(np_dense(np_layer_norm(x, b['norm2']), b['mlp']['fc1']))
    x = x + np_dense(y, b['mlp']['fc2'])
  return np_dense(np_layer_norm(x, p['norm'])[:, 0], p['fc'])


# --- the tests ---------------------------------------------------------------

def test_patch_embedding_is_a_reshape_matmul():
  embed = PatchEmbed(patch=4, width=5)
  x = images(2, size=12)
  variables = randomize(embed.init(jax.random.key(0), x))
  out = embed.apply(variables, x)
  assert out.shape == (2, 9, 5)
  np.testing.assert_allclose(
      out, np_patch_embed(x, variables['params']['proj'], 4),
      rtol=1e-5, atol=1e-5)


def test_tiny_vit_matches_numpy():
  net = ViT(**TINY)
  variables = tiny_variables(net)
  x = images(3)
  out = forward(net)(variables, x)
  ref = np_vit(variables, x, TINY['patch'], TINY['heads'])
  assert out.shape == (3, TINY['features'])
  np.testing.assert_allclose(out, ref, rtol=1e-5,
                             atol=1e-5 * np.abs(ref).max())


def test_gelu_is_the_exact_erf_form():
  x = np.linspace(-4, 4, 81)
  np.testing.assert_allclose(vit.gelu(jnp.asarray(x, jnp.float32)),
                             np_gelu(x), rtol=1e-6, atol=1e-6)
  # The tanh approximation is measurably different on this grid.
  assert np.abs(np.asarray(jax.nn.gelu(x, approximate=True)) - np_gelu(x)
                ).max() > 1e-4


def eqns(jaxpr):
  """Every equation, nested jaxprs (custom_jvp, pjit, ...) included."""
  for eqn in jaxpr.eqns:
    yield eqn
    for value in eqn.params.values():
      for v in value if isinstance(value, (list, tuple)) else (value,):
        if isinstance(v, jax.extend.core.ClosedJaxpr):
          yield from eqns(v.jaxpr)
        elif isinstance(v, jax.extend.core.Jaxpr):
          yield from eqns(v)


def test_bfloat16_close_to_float32_with_float32_statistics():
  net32, net16 = ViT(**TINY), ViT(**TINY, dtype=jnp.bfloat16)
  variables = tiny_variables(net32)
  x = images(3)
  ref = np.asarray(forward(net32)(variables, x))
  out = forward(net16)(variables, x)
  assert out.dtype == jnp.bfloat16
  np.testing.assert_allclose(np.asarray(out, np.float32), ref, rtol=0,
                             atol=0.05 * np.abs(ref).max())
  # Matmuls in bfloat16; softmax (exp, max, sum) and LayerNorm statistics
  # (mean, mean of squares) reduce in float32.
  jaxpr = jax.make_jaxpr(lambda v, x: net16.apply(v, x, train=False))(
      variables, x).jaxpr
  dtypes = {}
  for eqn in eqns(jaxpr):
    dtypes.setdefault(eqn.primitive.name, set()).update(
        str(v.aval.dtype) for v in eqn.invars if hasattr(v, 'aval'))
  assert dtypes['dot_general'] == {'bfloat16'}
  assert dtypes['conv_general_dilated'] == {'bfloat16'}
  for reduction in ('exp', 'reduce_max', 'reduce_sum'):
    assert dtypes[reduction] == {'float32'}, reduction
  assert {v.dtype for v in jax.tree.leaves(variables)} == {
      np.dtype(np.float32)}


def test_position_embeddings_are_fixed_by_the_init_size():
  net = ViT(**TINY)
  variables = tiny_variables(net)
  assert variables['params']['pos_embed'].shape == (1, 1 + 16, 16)
  with pytest.raises(ValueError, match='made for 16 patches; this input has '
                     '36'):
    jax.eval_shape(lambda: net.apply(variables, jnp.zeros((1, 48, 48, 3)),
                                     train=False))
  with pytest.raises(ValueError, match='multiples of the patch size 8'):
    jax.eval_shape(lambda: net.apply(variables, jnp.zeros((1, 36, 32, 3)),
                                     train=False))


def test_fold_bn_is_the_same_network_inference_only():
  from lgpn_jax.models.bn_fold import fold_variables
  net = ViT(**TINY)
  variables = tiny_variables(net)
  folded = fold_variables(variables, {'backbone': 'vit_b16'})
  assert jax.tree.structure(folded['params']) == jax.tree.structure(
      variables['params'])
  folded_net = ViT(**TINY, fold_bn=True)
  x = images(3)
  np.testing.assert_array_equal(forward(folded_net)(folded, x),
                                forward(net)(variables, x))
  with pytest.raises(ValueError, match='fold_bn=True'):
    folded_net.apply(folded, x, train=True)


def test_every_parameter_gets_a_gradient():
  """Every leaf gets a gradient; inside qkv's bias, the key third gets none
  (adding a constant to all of one query's logits leaves its softmax alone),
  which also pins the [q | k | v] layout."""
  net = ViT(**TINY)
  variables = tiny_variables(net)
  x = images(3, seed=4)
  w = jax.random.normal(jax.random.key(7), (3, TINY['features']))
  loss = lambda params: jnp.sum(net.apply({'params': params}, x,
                                          train=True) * w)
  grads = jax.jit(jax.grad(loss))(variables['params'])
  flat = {jax.tree_util.keystr(path): np.abs(np.asarray(g))
          for path, g in jax.tree_util.tree_leaves_with_path(grads)}
  scale = max(g.max() for g in flat.values())
  for name, g in flat.items():
    assert g.max() > 1e-6 * scale, name
  width = TINY['width']
  for i in range(TINY['depth']):
    bias = flat[f"['block{i}']['attn']['qkv']['bias']"]
    assert bias[width:2 * width].max() < 1e-5 * scale
    assert bias[:width].max() > 1e-6 * scale
    assert bias[2 * width:].max() > 1e-6 * scale


def test_remat_gives_the_same_gradients():
  x = images(3, seed=4)
  grads = []
  for remat in (False, True):
    net = ViT(**TINY, remat=remat)
    variables = tiny_variables(ViT(**TINY))
    loss = lambda params: jnp.sum(net.apply({'params': params}, x,
                                            train=True) ** 2)
    grads.append(jax.jit(jax.grad(loss))(variables['params']))
  # atol: the key third of qkv's bias has a zero gradient up to rounding.
  jax.tree.map(lambda a, b: np.testing.assert_allclose(
      a, b, rtol=1e-5, atol=1e-5 * np.abs(b).max()), *grads)


# --- parameter count of ViT-B/16, from its layer list -----------------------

def vit_params(size, features, patch=16, width=768, depth=12, mlp=3072):
  tokens = 1 + (size // patch) ** 2
  embed = patch * patch * 3 * width + width + width + tokens * width
  block = (2 * 2 * width                        # two LayerNorms
           + width * 3 * width + 3 * width      # qkv
           + width * width + width              # proj
           + width * mlp + mlp + mlp * width + width)   # fc1, fc2
  return embed + depth * block + 2 * width + width * features + features


def count_params(net, size):
  shapes = jax.eval_shape(lambda: net.init(
      jax.random.key(0), jnp.zeros((1, size, size, 3)), train=False))
  return sum(math.prod(p.shape) for p in jax.tree.leaves(shapes['params']))


def test_b16_parameter_count():
  assert vit_params(256, 512) == 86_238_464
  assert count_params(ViT(features=512), 256) == 86_238_464
  # At 224x224 with a 1000-way classifier: timm's vit_base_patch16_224.
  assert vit_params(224, 1000) == 86_567_656
  assert count_params(ViT(features=1000), 224) == 86_567_656
