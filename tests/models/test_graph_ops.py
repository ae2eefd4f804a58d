"""Dense graph ops against edge-list references (numpy segment sums and
softmaxes over the edges, as message-passing libraries compute them) and
numpy loops."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lgpn_jax.models import graph_ops
from lgpn_jax.red140 import graphs


def random_graphs(rng, batch, n, density=0.3):
  adj = (rng.random((batch, n, n)) < density).astype(np.float32)
  for b in range(batch):
    np.fill_diagonal(adj[b], 0)
  adj[0, 1, :] = 0   # node 1 of graph 0 has no edges.
  return adj


def edge_list(adj, h, weights=None):
  """Batch of dense graphs -> one edge list over b * n nodes (edge j -> i
  for A_ij != 0): (nodes [b n, d], senders, receivers, edge values,
  edges per graph)."""
  senders, receivers, values, counts = [], [], [], []
  n = adj.shape[1]
  for b in range(adj.shape[0]):
    recv, send = np.nonzero(adj[b])
    w = adj[b] if weights is None else weights[b]
    senders.append(send + b * n)
    receivers.append(recv + b * n)
    values.append(w[recv, send])
    counts.append(len(send))
  return (np.asarray(h, np.float64).reshape(-1, h.shape[-1]),
          np.concatenate(senders), np.concatenate(receivers),
          np.concatenate(values).astype(np.float64), np.array(counts))


def segment_sum(values, segments, num):
  out = np.zeros((num,) + values.shape[1:])
  np.add.at(out, segments, values)
  return out


def segment_softmax(logits, segments, num):
  """Softmax of the edge logits over the edges of each receiver."""
  top = np.full(num, -np.inf)
  np.maximum.at(top, segments, logits)
  e = np.exp(logits - top[segments])
  return e / segment_sum(e, segments, num)[segments]


def test_gcn_layer_equals_an_edge_list_graph_convolution():
  rng = np.random.default_rng(0)
  b, n, d = 3, 12, 5
  adj = random_graphs(rng, b, n)
  h = rng.normal(size=(b, n, d)).astype(np.float32)
  w = rng.normal(size=(d, 4)).astype(np.float32)
  ours = graph_ops.gcn_layer(jnp.asarray(h), jnp.asarray(adj), w, np.zeros(4))
  # Sum over in-neighbours and self of x_j W, then mean-normalise.
  x, send, recv, _, _ = edge_list(adj, h)
  ref = (segment_sum(x[send] @ w, recv, b * n) + x @ w).reshape(b, n, 4)
  ref = np.maximum(ref / (adj.sum(-1, keepdims=True) + 1), 0)
  np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5)


def test_weighted_gcn_layer_with_bias_equals_segment_sum():
  rng = np.random.default_rng(1)
  b, n, d = 2, 9, 4
  adj = random_graphs(rng, b, n) * rng.random((b, n, n)).astype(np.float32)
  h = rng.normal(size=(b, n, d)).astype(np.float32)
  w = rng.normal(size=(d, d)).astype(np.float32)
  bias = rng.normal(size=(d,)).astype(np.float32)
  x, send, recv, edges, _ = edge_list(adj, h)
  agg = segment_sum(edges[:, None] * x[send], recv, b * n)
  deg = segment_sum(edges, recv, b * n)[:, None]
  # The reference: (W(A x) + W(x)) / (rowsum(A) + 1), W with bias.
  ref = np.maximum(((agg @ w + bias) + (x @ w + bias)) / (deg + 1), 0)
  ours = graph_ops.gcn_layer(jnp.asarray(h), jnp.asarray(adj), w, bias)
  np.testing.assert_allclose(ours.reshape(b * n, d), ref, rtol=1e-5, atol=1e-5)


def test_shared_adjacency_broadcasts_over_the_batch():
  rng = np.random.default_rng(2)
  adj = random_graphs(rng, 1, 7)[0]
  h = rng.normal(size=(3, 7, 4)).astype(np.float32)
  w = rng.normal(size=(4, 4)).astype(np.float32)
  one = graph_ops.gcn_layer(h, adj, w, np.zeros(4))
  many = graph_ops.gcn_layer(h, np.broadcast_to(adj, (3, 7, 7)), w, np.zeros(4))
  np.testing.assert_allclose(one, many, rtol=1e-6)


@pytest.mark.parametrize('empty_rows', ['zero', 'uniform'])
def test_edge_attention_equals_an_edge_list_segment_softmax(empty_rows):
  rng = np.random.default_rng(3)
  b, n, d = 2, 10, 6
  adj = random_graphs(rng, b, n)
  h = rng.normal(size=(b, n, d)).astype(np.float32)
  a = rng.normal(size=(2, d)).astype(np.float32)
  att = np.asarray(graph_ops.edge_attention(jnp.asarray(h), a, adj > 0,
                                            empty_rows))
  x, send, recv, _, per_graph = edge_list(adj, h)
  logits = x[recv] @ a[0] + x[send] @ a[1]
  ref = segment_softmax(logits, recv, b * n)
  graph_of_edge = np.repeat(np.arange(b), per_graph)
  local_recv = recv - graph_of_edge * n
  local_send = send - graph_of_edge * n
  np.testing.assert_allclose(att[graph_of_edge, local_recv, local_send], ref,
                             rtol=1e-5)
  non_edges = (adj == 0) & (adj.sum(-1, keepdims=True) > 0)
  np.testing.assert_array_equal(att[non_edges], 0)
  has_edges = adj.sum(-1) > 0
  np.testing.assert_allclose(att.sum(-1)[has_edges], 1, rtol=1e-5)
  empty = att[0, 1]
  if empty_rows == 'zero':
    np.testing.assert_array_equal(empty, 0)
  else:   # the reference's softmax over an all-masked row: uniform.
    np.testing.assert_allclose(empty, 1 / n, rtol=1e-6)


def test_one_hot_pooling_averages_children_and_counts_edges():
  rng = np.random.default_rng(4)
  member = graphs.membership(0)                      # [18, 55]
  b, d = 2, 3
  h = rng.normal(size=(b, 55, d)).astype(np.float32)
  adj = (graphs.fold_correlation_graph(1) > 0).astype(np.float32)
  match = np.broadcast_to(1e4 * member.T, (b, 55, 18))
  corr = np.broadcast_to(2 * member.T - 1, (b, 55, 18))
  h_out, mask, s, c = graph_ops.pool(jnp.asarray(h), jnp.asarray(adj),
                                     jnp.asarray(match), jnp.asarray(corr))
  for k in range(18):
    children = np.flatnonzero(member[k])
    np.testing.assert_allclose(h_out[:, k], h[:, children].mean(1), rtol=1e-5,
                               atol=1e-6)
    for l in range(18):
      others = np.flatnonzero(member[l])
      edges = adj[np.ix_(children, others)].sum()
      assert bool(mask[0, k, l]) == (edges > 0.1), (k, l)
  np.testing.assert_allclose(s[0], member / member.sum(1, keepdims=True),
                             atol=1e-6)
  np.testing.assert_allclose(c[0], member, atol=1e-6)


def _pool_inputs(seed=5, b=2, n_in=6, n_out=3, d=4):
  rng = np.random.default_rng(seed)
  h = rng.normal(size=(b, n_in, d)).astype(np.float32)
  adj = random_graphs(rng, 1, n_in, 0.4)[0]
  match = rng.normal(size=(b, n_in, n_out)).astype(np.float32)
  corr = rng.normal(scale=0.3, size=(b, n_in, n_out)).astype(np.float32)
  return h, adj, match, corr


def test_straight_through_pooling_keeps_the_forward_exactly():
  h, adj, match, corr = _pool_inputs()
  plain = graph_ops.pool(h, adj, match, corr)
  ste = graph_ops.pool(h, adj, match, corr, edge_gradient='straight_through')
  for a, b in zip(plain, ste):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  assert set(np.unique(np.asarray(ste[1]))) <= {0.0, 1.0}


def test_straight_through_edge_gradient_equals_the_surrogate_by_hand():
  """L = sum(W * edges): the threshold has no gradient ('none' gives 0);
  straight-through passes dL/dA_out = W, and C = sigmoid(1000 x) passes
  the gradient of sigmoid(k x): dL/dx[i,o] = k s'(k x) [(A C) W^T + (A^T C)
  W]_{i,o}, with C the forward (hard) correlation."""
  h, adj, match, corr = _pool_inputs()
  w = np.random.default_rng(6).normal(size=(2, 3, 3)).astype(np.float32)
  k = 2.0

  def loss(x, mode):
    edges = graph_ops.pool(h, adj, match, x, edge_gradient=mode,
                           surrogate_scale=k)[1]
    return jnp.sum(edges * w)

  assert np.all(np.asarray(jax.grad(loss)(corr, 'none')) == 0)
  got = np.asarray(jax.grad(loss)(corr, 'straight_through'))
  c = 1 / (1 + np.exp(-1000.0 * corr.astype(np.float64)))
  soft = 1 / (1 + np.exp(-k * corr.astype(np.float64)))
  want = np.zeros_like(got, np.float64)
  for b in range(2):
    d_c = adj @ c[b] @ w[b].T + adj.T @ c[b] @ w[b]
    want[b] = d_c * k * soft[b] * (1 - soft[b])
  np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
  assert np.abs(got).max() > 1e-3


def test_carry_gradient_is_the_identity_forward():
  att = jnp.asarray(np.random.default_rng(8).random((2, 4, 4)), jnp.float32)
  adj = jnp.asarray(np.random.default_rng(9).random((2, 4, 4)), jnp.float32)
  np.testing.assert_array_equal(graph_ops.carry_gradient(att, adj), att)
  g = jax.grad(lambda a: jnp.sum(graph_ops.carry_gradient(att, a) * 3.0))(adj)
  np.testing.assert_allclose(g, 3.0 * np.asarray(att), rtol=1e-6)


def test_l2_normalize_matches_torch_semantics():
  x = np.array([[3.0, 4.0], [0.0, 0.0]], np.float32)
  np.testing.assert_allclose(graph_ops.l2_normalize(x), [[0.6, 0.8], [0, 0]])
