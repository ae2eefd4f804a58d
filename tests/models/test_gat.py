"""GATHead and GATLayer against a plain numpy reference (edge by edge)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lgpn_jax.models import gat
from lgpn_jax.models.gat import GATHead, GATLayer

B, N, D = 2, 7, 4


def small_graph(seed=0):
  """A directed {0,1} graph on N nodes; node 1 aggregates from no one (its
  only edge is the self-loop the layer adds)."""
  rng = np.random.default_rng(seed)
  adj = (rng.random((N, N)) < 0.4).astype(np.float32)
  np.fill_diagonal(adj, 0)
  adj[1, :] = 0
  return adj


def features(seed=1):
  return np.random.default_rng(seed).normal(size=(B, N, D)).astype(np.float32)


# ---- numpy reference (one example at a time, float64) ----

def np_leaky_relu(x):
  return x if x > 0 else 0.2 * x


def np_elu(x):
  return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


def np_coefficients(wh, a, adj):
  """alpha [n, n] of one head: wh [n, F], a [2, F]."""
  n = len(wh)
  alpha = np.zeros((n, n))
  for i in range(n):
    nbrs = [j for j in range(n) if adj[i, j] > 0 or j == i]
    e = np.array([np_leaky_relu(np.concatenate([wh[i], wh[j]]) @
                                np.concatenate([a[0], a[1]])) for j in nbrs])
    w = np.exp(e - e.max())
    alpha[i, nbrs] = w / w.sum()
  return alpha


def np_layer(p, h, adj, concat):
  """One GAT layer on one example: h [n, D_in] -> [n, K F] or [n, F]."""
  heads = []
  for k in range(p['kernel'].shape[1]):
    wh = h @ p['kernel'][:, k]
    heads.append(np_coefficients(wh, p['attention'][k], adj) @ wh)
  out = np.concatenate(heads, axis=1) if concat else np.mean(heads, axis=0)
  return np_elu(out + p['bias'])


def as_numpy(tree):
  return jax.tree.map(lambda x: np.asarray(x, np.float64), tree)


# ---- tests ----

def test_coefficients_match_numpy_and_self_loop_only_row_is_one_hot():
  adj = small_graph()
  rng = np.random.default_rng(2)
  wh = rng.normal(size=(B, N, 3, 5)).astype(np.float32)
  a = rng.normal(size=(3, 2, 5)).astype(np.float32)
  alpha = gat.gat_coefficients(jnp.asarray(wh), jnp.asarray(a),
                               gat.attention_mask(adj, B))
  assert alpha.shape == (B, 3, N, N)
  for b in range(B):
    for k in range(3):
      np.testing.assert_allclose(alpha[b, k], np_coefficients(
          wh[b, :, k].astype(np.float64), a[k], adj), rtol=1e-5, atol=1e-6)
  np.testing.assert_array_equal(alpha[:, :, 1], np.broadcast_to(
      np.eye(N)[1], (B, 3, N)))


@pytest.mark.parametrize('concat', [True, False])
def test_layer_matches_numpy_for_all_heads(concat):
  adj, h = small_graph(), features()
  layer = GATLayer(features=5, heads=3, concat=concat)
  mask = gat.attention_mask(adj, B)
  params = layer.init(jax.random.key(0), h, mask, train=False)['params']
  params['bias'] = jnp.linspace(-0.5, 0.5, params['bias'].size)
  out = layer.apply({'params': params}, h, mask, train=False)
  assert out.shape == (B, N, 15 if concat else 5)
  for b in range(B):
    np.testing.assert_allclose(
        out[b], np_layer(as_numpy(params), h[b].astype(np.float64), adj,
                         concat), rtol=1e-5, atol=1e-6)


def test_head_forward_matches_numpy():
  adj, h = small_graph(), features()
  head = GATHead(layers=2, heads=3, hidden=2, output_heads=2)
  params = head.init(jax.random.key(0), h, adj, train=False)['params']
  out = head.apply({'params': params}, h, adj, train=False)
  assert out.refined.shape == (B, N, D) and out.pooled.shape == (B, D)
  assert out.matchings == out.correlations == out.masks == ()
  p = as_numpy(params)
  assert p['layer_0']['kernel'].shape == (D, 3, 2)
  assert p['layer_1']['kernel'].shape == (6, 2, D)
  for b in range(B):
    x = np_layer(p['layer_0'], h[b].astype(np.float64), adj, concat=True)
    x = np_layer(p['layer_1'], x, adj, concat=False)
    np.testing.assert_allclose(out.refined[b], x, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.pooled[b], x.mean(0), rtol=1e-5,
                               atol=1e-6)


def test_dropout_only_in_training():
  adj, h = small_graph(), features()
  for rates in (dict(dropout=0.5, attention_dropout=0.0),
                dict(dropout=0.0, attention_dropout=0.5)):
    head = GATHead(heads=2, hidden=2, **rates)
    variables = head.init(jax.random.key(0), h, adj, train=False)
    eval_a = head.apply(variables, h, adj, train=False).refined
    eval_b = head.apply(variables, h, adj, train=False,
                        rngs={'dropout': jax.random.key(1)}).refined
    np.testing.assert_array_equal(eval_a, eval_b)
    train = [head.apply(variables, h, adj, train=True,
                        rngs={'dropout': jax.random.key(s)}).refined
             for s in (1, 2)]
    assert not np.allclose(train[0], eval_a), rates
    assert not np.allclose(train[0], train[1]), rates


def test_every_parameter_gets_a_gradient():
  adj, h = small_graph(), features()
  head = GATHead(heads=2, hidden=3)
  params = head.init(jax.random.key(0), h, adj, train=False)['params']
  weights = np.random.default_rng(3).normal(size=(B, N, D))

  def loss(params):
    out = head.apply({'params': params}, h, adj, train=False)
    return jnp.sum(out.refined * weights) + jnp.sum(out.pooled)

  grads = jax.grad(loss)(params)
  leaves = jax.tree_util.tree_leaves_with_path(grads)
  assert len(leaves) == 6   # kernel, attention, bias of two layers.
  for path, g in leaves:
    assert np.any(np.asarray(g) != 0), jax.tree_util.keystr(path)
