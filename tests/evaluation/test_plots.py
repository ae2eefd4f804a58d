"""Plots: the soft pooled adjacency they draw, and every figure written as
a PNG from report-shaped inputs (including undefined F1 and NaN losses)."""

import numpy as np

from lgpn_jax.evaluation import plots
from lgpn_jax.red140 import graphs, schema

PNG = b'\x89PNG\r\n\x1a\n'


def test_soft_levels_are_c_transpose_a_c_with_the_previous_mask():
  rng = np.random.default_rng(0)
  adj = graphs.fold_correlation_graph(1)
  c1, c2 = rng.random((2, 18, 55)), rng.random((2, 55, 18))   # C^T per level.
  m1 = rng.random((2, 18, 18)) > 0.5
  levels = plots.soft_levels(adj, (c1, c2), (m1, rng.random((2, 55, 55)) > 0))
  for k in range(2):
    np.testing.assert_allclose(levels[0][k], c1[k] @ adj @ c1[k].T)
    np.testing.assert_allclose(levels[1][k], c2[k] @ m1[k] @ c2[k].T)


def test_every_plot_writes_a_png(tmp_path):
  rows = [dict(name='loss/L1', family='loss', nodes=[0], f1=0.5,
               baseline=dict(f1=0.4)),
          dict(name='continuous/layers', family='continuous', nodes=[10, 11],
               f1=None, baseline=dict(f1=None))]
  per_node = [dict(index=0, num_positive=3), dict(index=10, num_positive=0),
              dict(index=11, num_positive=2)]
  adj = graphs.fold_correlation_graph(1)
  rng = np.random.default_rng(1)
  levels = plots.soft_levels(adj, (rng.random((2, 18, 55)),),
                             (rng.random((2, 18, 18)) > 0.5,))
  metrics = [dict(step=0, num_params=10),
             dict(step=5, loss=3.0, loss_node=2.0, node_accuracy=0.5,
                  learning_rate=1e-3),
             dict(step=10, loss='nan', loss_node=1.0, node_accuracy=0.6,
                  learning_rate=1e-3)]
  paths = [
      plots.hyperparameter_f1(rows, per_node, str(tmp_path / 'f1.png')),
      plots.adjacency(adj, str(tmp_path / 'adj.png'), 'fold 1', tau=0.45),
      plots.learned_adjacency(levels, ['A', 'B'], str(tmp_path / 'la.png'),
                              threshold=0.1),
      plots.training_curves(metrics, str(tmp_path / 'curves.png')),
      plots.roc({'unseen': (np.array([0, 0.5, 1]), np.array([0, 0.8, 1]))},
                str(tmp_path / 'roc.png')),
  ]
  for p in paths:
    assert open(p, 'rb').read(8) == PNG
  assert len(schema.nodes()) == adj.shape[0]
