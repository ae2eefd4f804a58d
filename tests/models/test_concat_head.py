"""The concatenation head against numpy: features of k images concatenated
per node (order matters), shared hidden layer, per-node logits, regression
from each hyperparameter's bin nodes."""

import jax
import numpy as np

from lgpn_jax.models.concat_head import ConcatHead

NODES = ((1, 2), (3, 4), (0, 5))     # 3 hyperparameters x 2 bins, 6 nodes.


def test_forward_matches_numpy_and_depends_on_image_order():
  rng = np.random.default_rng(0)
  h = rng.normal(size=(2, 3, 6, 4)).astype(np.float32)   # B, k, N, D.
  head = ConcatHead(NODES, hidden=5)
  params = head.init(jax.random.key(0), h)
  out = jax.jit(head.apply)(params, h)
  p = jax.tree.map(np.asarray, params['params'])
  x = h.transpose(0, 2, 1, 3).reshape(2, 6, 12)
  z = np.maximum(x @ p['shared']['kernel'] + p['shared']['bias'], 0)
  logits = np.einsum('bnh,nh->bn', z, p['node_w'][..., 0]) + p['node_b']
  zc = z[:, np.array(NODES)].reshape(2, 3, 10)
  reg = np.einsum('bhf,hf->bh', zc, p['reg_w'][..., 0]) + p['reg_b']
  np.testing.assert_allclose(out['node_logits'], logits, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(out['regressed'], reg, rtol=1e-5, atol=1e-5)
  swapped = jax.jit(head.apply)(params, h[:, ::-1])
  assert not np.allclose(swapped['node_logits'], out['node_logits'])
