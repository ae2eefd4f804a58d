"""GraphUNetHead and its gPool / gUnpool against plain numpy references."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lgpn_jax.models import graph_unet
from lgpn_jax.models.graph_unet import GraphUNetHead

B, N, D = 2, 7, 4
RATIOS = (0.6, 0.5)
SIZES = (7, 5, 3)   # ceil(0.6 * 7) = 5, ceil(0.5 * 5) = 3.


def small_graph(seed=0):
  """A directed {0,1} graph on N nodes; node 1 aggregates from no one and
  node 4 is no one's neighbour."""
  rng = np.random.default_rng(seed)
  adj = (rng.random((N, N)) < 0.4).astype(np.float32)
  np.fill_diagonal(adj, 0)
  adj[1, :] = 0
  adj[:, 4] = 0
  adj[1, 4] = 0
  return adj


def features(seed=1):
  return np.random.default_rng(seed).normal(size=(B, N, D)).astype(np.float32)


# ---- numpy reference (one example at a time, float64) ----

def np_sigmoid(x):
  return 1.0 / (1.0 + np.exp(-x))


def np_gcn(h, adj, kernel, bias):
  """ReLU(((A h + h) W + 2 b) / (rowsum(A) + 1))."""
  out = ((adj @ h + h) @ kernel + 2.0 * bias) / (adj.sum(1, keepdims=True) + 1)
  return np.maximum(out, 0.0)


def np_two_hop(adj):
  n = len(adj)
  reach = ((adj > 0) | np.eye(n, dtype=bool)).astype(np.int64)
  out = np.zeros((n, n))
  for i in range(n):
    for j in range(n):
      if i != j and any(reach[i, m] and reach[m, j] for m in range(n)):
        out[i, j] = 1.0
  return out


def np_gpool(h, adj, p, k, augment, margin=0.0):
  """``margin``: assert that the k-th and (k+1)-th scores are that far apart,
  so float32 rounding cannot change which nodes are kept."""
  y = h @ p / np.sqrt(np.sum(p * p))
  order = np.argsort(-y, kind='stable')
  idx = order[:k]
  if k < len(y):
    assert y[order[k - 1]] - y[order[k]] > margin, (y, k)
  a = np_two_hop(adj) if augment else adj
  return h[idx] * np_sigmoid(y[idx])[:, None], a[np.ix_(idx, idx)], idx


def np_gunpool(h, idx, n):
  out = np.zeros((n, h.shape[1]))
  for row, i in enumerate(idx):
    out[i] = h[row]
  return out


def np_head(params, h, adj, augment):
  """(refined [N, D], pooled [D]) of one example."""
  gcn = lambda name, x, a: np_gcn(x, a, params[name]['kernel'],
                                  params[name]['bias'])
  x, a = gcn('down_0', h, adj), adj
  levels = []
  for l, k in enumerate(SIZES[1:]):
    pooled, a_next, idx = np_gpool(x, a, params[f'projection_{l}'], k,
                                   augment, margin=1e-5)
    levels.append((x, a, idx))
    x, a = gcn(f'down_{l + 1}', pooled, a_next), a_next
  coarsest = x
  for l in reversed(range(len(RATIOS))):
    skip, a, idx = levels[l]
    x = gcn(f'up_{l}', np_gunpool(x, idx, SIZES[l]) + skip, a)
  return x, coarsest.mean(0)


def as_numpy(tree):
  return jax.tree.map(lambda x: np.asarray(x, np.float64), tree)


# ---- tests ----

def test_level_sizes():
  assert graph_unet.level_sizes(55, (0.9, 0.7, 0.6, 0.5)) == (55, 50, 35, 21,
                                                               11)
  assert graph_unet.level_sizes(N, RATIOS) == SIZES
  assert graph_unet.level_sizes(10, (0.7,)) == (10, 7)   # not 8 (0.7 * 10).
  assert graph_unet.level_sizes(3, (0.01,)) == (3, 1)
  with pytest.raises(ValueError):
    graph_unet.level_sizes(55, (0.0,))


def test_two_hop_matches_numpy():
  adj = small_graph()
  np.testing.assert_array_equal(graph_unet.two_hop(jnp.asarray(adj)),
                                np_two_hop(adj))


@pytest.mark.parametrize('augment', [False, True])
def test_gpool_matches_numpy(augment):
  adj, h = small_graph(), features()
  p = np.random.default_rng(2).normal(size=D).astype(np.float32)
  h_out, adj_out, idx = graph_unet.gpool(jnp.asarray(h), jnp.asarray(adj),
                                         jnp.asarray(p), 4, augment)
  assert h_out.shape == (B, 4, D) and adj_out.shape == (B, 4, 4)
  for b in range(B):
    ref_h, ref_adj, ref_idx = np_gpool(h[b].astype(np.float64), adj, p, 4,
                                       augment)
    np.testing.assert_array_equal(idx[b], ref_idx)
    np.testing.assert_allclose(h_out[b], ref_h, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(adj_out[b], ref_adj)


def test_top_k_is_per_example():
  h = np.zeros((B, N, D), np.float32)
  h[0, :, 0] = np.arange(N)           # image 0 ranks node 6 first,
  h[1, :, 0] = -np.arange(N)          # image 1 ranks node 0 first.
  h[:, :, 1:] = features()[:, :, 1:]
  p = np.array([2.0, 0.0, 0.0, 0.0], np.float32)
  _, adj_out, idx = graph_unet.gpool(jnp.asarray(h), small_graph(), p, 3)
  np.testing.assert_array_equal(idx, [[6, 5, 4], [0, 1, 2]])
  for b in range(B):
    _, ref_adj, ref_idx = np_gpool(h[b], small_graph(), p, 3, False)
    np.testing.assert_array_equal(idx[b], ref_idx)
    np.testing.assert_array_equal(adj_out[b], ref_adj)
  assert not np.array_equal(adj_out[0], adj_out[1])


def test_gunpool_scatters_back_with_zeros_elsewhere():
  h = features()[:, :3]
  idx = np.array([[6, 0, 3], [2, 5, 1]])
  out = graph_unet.gunpool(jnp.asarray(h), jnp.asarray(idx), N)
  for b in range(B):
    np.testing.assert_array_equal(out[b], np_gunpool(h[b], idx[b], N))
  untouched = np.ones((B, N), bool)
  untouched[np.arange(B)[:, None], idx] = False
  np.testing.assert_array_equal(np.asarray(out)[untouched], 0)


@pytest.mark.parametrize('augment', [False, True])
def test_head_forward_matches_numpy(augment):
  adj, h = small_graph(), features()
  head = GraphUNetHead(ratios=RATIOS, augment=augment)
  params = head.init(jax.random.key(0), h, adj, train=False)['params']
  # Positive biases keep most ReLUs alive, so nodes rarely tie at score 0.
  rng = np.random.default_rng(4)
  params = {name: (dict(p, bias=jnp.asarray(rng.uniform(0.1, 0.5, D),
                                            jnp.float32))
                   if isinstance(p, dict) else p)
            for name, p in params.items()}
  out = head.apply({'params': params}, h, adj, train=False)
  assert out.refined.shape == (B, N, D) and out.pooled.shape == (B, D)
  assert out.matchings == out.correlations == out.masks == ()
  ref = [np_head(as_numpy(params), h[b].astype(np.float64), adj, augment)
         for b in range(B)]
  np.testing.assert_allclose(out.refined, [r[0] for r in ref], rtol=1e-4,
                             atol=1e-5)
  np.testing.assert_allclose(out.pooled, [r[1] for r in ref], rtol=1e-4,
                             atol=1e-5)


def test_dropout_only_in_training():
  adj, h = small_graph(), features()
  head = GraphUNetHead(ratios=RATIOS, dropout=0.5)
  variables = head.init(jax.random.key(0), h, adj, train=False)
  eval_a = head.apply(variables, h, adj, train=False).refined
  eval_b = head.apply(variables, h, adj, train=False,
                      rngs={'dropout': jax.random.key(1)}).refined
  np.testing.assert_array_equal(eval_a, eval_b)
  train = [head.apply(variables, h, adj, train=True,
                      rngs={'dropout': jax.random.key(s)}).refined
           for s in (1, 2)]
  assert not np.allclose(train[0], eval_a)
  assert not np.allclose(train[0], train[1])


def test_every_parameter_gets_a_gradient():
  adj, h = small_graph(), features()
  head = GraphUNetHead(ratios=RATIOS)
  params = head.init(jax.random.key(0), h, adj, train=False)['params']
  weights = np.random.default_rng(3).normal(size=(B, N, D))

  def loss(params):
    out = head.apply({'params': params}, h, adj, train=False)
    return jnp.sum(out.refined * weights) + jnp.sum(out.pooled)

  grads = jax.grad(loss)(params)
  names = {'down_0', 'down_1', 'down_2', 'up_0', 'up_1', 'projection_0',
           'projection_1'}
  assert set(grads) == names
  for path, g in jax.tree_util.tree_leaves_with_path(grads):
    assert np.any(np.asarray(g) != 0), jax.tree_util.keystr(path)
