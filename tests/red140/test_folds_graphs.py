"""Folds, the correlation graph (by hand and against the tables' counts), leakage."""

import numpy as np
import pytest

from lgpn_jax.red140 import folds, graphs, schema
def test_folds_partition_the_gms():
  for protocol in folds.PROTOCOLS:
    tested = []
    for k in range(1, 5):
      f = folds.get_fold(k, protocol)
      assert not set(f.train) & set(f.test + f.dropped)
      assert len(f.train) == 125
      assert {schema.get_gm(g).test_set for g in f.test + f.dropped} == {k}
      tested += f.test
      if protocol == 'released':
        assert len(f.test) == 15 and not f.dropped
      else:
        assert all(schema.get_gm(g).removed_from_test_in_paper for g in f.dropped)
    assert len(tested) == len(set(tested))
  assert folds.get_fold(1, 'paper').dropped == ('BIGGAN_128',)
  assert len(folds.get_fold(2, 'paper').test) == 12


@pytest.mark.parametrize('fold, protocol', [(0, 'paper'), (5, 'paper'),
                                            (1, 'nope')])
def test_bad_fold_arguments(fold, protocol):
  with pytest.raises(ValueError):
    folds.get_fold(fold, protocol)


def test_correlation_graph_toy_by_hand():
  labels = np.array([[1, 1, 0], [1, 0, 1], [1, 1, 1], [0, 1, 0]])
  # P(1|0) = 2/3, P(2|0) = 2/3, P(0|1) = 2/3, P(2|1) = 1/3, P(0|2) = 1, P(1|2) = 1/2
  p = graphs.conditional_probabilities(labels)
  np.testing.assert_allclose(p, [[1, 2 / 3, 2 / 3], [2 / 3, 1, 1 / 3],
                                 [1, 1 / 2, 1]])
  np.testing.assert_array_equal(graphs.correlation_graph(labels, 0.5),
                                [[0, 1, 1], [1, 0, 0], [1, 1, 0]])
  np.testing.assert_array_equal(graphs.correlation_graph(labels, 0.9),
                                [[0, 0, 0], [0, 0, 0], [1, 0, 0]])


def test_never_occurring_nodes_have_no_edges():
  rows = [i for i, gm in enumerate(schema.gms()) if gm.test_set in (2, 3, 4)]
  labels = schema.label_table()[rows]
  assert len(rows) == 45
  adj = graphs.correlation_graph(labels, 0.45)
  absent = np.flatnonzero(labels.sum(0) == 0)
  np.testing.assert_array_equal(absent, [3, 15, 21, 50])
  assert np.all(np.isfinite(graphs.conditional_probabilities(labels)))
  assert adj[absent].sum() == 0 and adj[:, absent].sum() == 0


@pytest.mark.parametrize('tau, all_gms, fold1', [
    (0.35, 944, 937), (0.40, 852, 847), (0.45, 764, 745), (0.55, 598, 615),
    (0.65, 483, 481)])
def test_edge_counts_match_the_tables_readme(tau, all_gms, fold1):
  assert graphs.correlation_graph(schema.label_table(), tau).sum() == all_gms
  assert graphs.fold_correlation_graph(1, tau).sum() == fold1


@pytest.mark.parametrize('fold', [1, 2, 3, 4])
def test_no_test_gm_influences_its_fold_graph(fold, monkeypatch):
  before = graphs.fold_correlation_graph(fold)
  original = schema.label_table()
  held_out = [i for i, gm in enumerate(schema.gms()) if gm.test_set == fold]
  scrambled = schema.label_table().copy()
  scrambled[held_out] = np.random.default_rng(fold).integers(
      0, 2, scrambled[held_out].shape)
  monkeypatch.setattr(schema, 'label_table', lambda: scrambled)
  np.testing.assert_array_equal(graphs.fold_correlation_graph(fold), before)
  # ...while the same scramble does change a graph that uses every GM.
  assert not np.array_equal(graphs.correlation_graph(scrambled),
                            graphs.correlation_graph(original))


def test_hierarchy_membership_and_targets():
  m0, m1 = graphs.membership(0), graphs.membership(1)
  assert m0.shape == (18, 55) and m1.shape == (3, 18)
  np.testing.assert_array_equal(m0.sum(0), 1)
  np.testing.assert_array_equal(m1.sum(0), 1)
  np.testing.assert_array_equal(m0.sum(1)[:3], [4, 5, 1])  # loss categories.
  np.testing.assert_array_equal(m1.sum(1), [3, 9, 6])
  steps = graphs.transition_targets((55, 18, 3, 18, 55))
  assert [s[0].shape for s in steps] == [(18, 55), (3, 18), (18, 3), (55, 18)]
  for match, corr in steps:
    np.testing.assert_allclose(match.sum(1), 1)  # rows are distributions.
    assert set(np.unique(corr)) == {0, 1}
  np.testing.assert_allclose(steps[0][0][0, :4], 0.25)  # mean of 4 children.
  with pytest.raises(ValueError):
    graphs.transition_targets((55, 3))
