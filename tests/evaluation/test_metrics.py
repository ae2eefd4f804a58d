"""Evaluation metrics against hand-computed values (numpy only, fast)."""

import math

import numpy as np
import pytest

from lgpn_jax.evaluation import metrics

# 4 scored images x 5 nodes, plus a padding row (weight 0) that would change
# every count if it were scored.
PROBS = np.array([[0.9, 0.0, 0.9, 0.9, 0.5],
                  [0.2, 0.0, 0.0, 0.1, 0.4],
                  [0.6, 0.0, 0.0, 0.8, 0.6],
                  [0.1, 0.0, 0.0, 0.7, 0.7],
                  [0.9, 0.9, 0.9, 0.0, 0.0]])
LABELS = np.array([[1, 0, 0, 1, 1],
                   [1, 0, 0, 0, 0],
                   [0, 0, 0, 1, 1],
                   [0, 0, 0, 1, 1],
                   [0, 1, 1, 0, 1]], np.float32)
WEIGHT = np.array([1, 1, 1, 1, 0])
# node 0: pred 1,0,1,0 vs 1,1,0,0 -> class1 F1 2/4, class0 F1 2/4, acc 1/2.
# node 1: all 0 predicted 0 -> only class 0 present: F1 1 ('zero': 1/2).
# node 2: pred 1,0,0,0 vs all 0 -> class0 F1 6/7, class1 F1 0 -> 3/7; acc 3/4.
# node 3: perfect, both classes -> 1; acc 1.
# node 4: the tie 0.5 predicts 0 (the authors' argmax): pred 0,0,1,1 vs
#   1,0,1,1 -> class1 F1 4/5, class0 F1 2/3 -> 11/15; acc 3/4.
F1_IGNORE = [0.5, 1.0, 3 / 7, 1.0, 11 / 15]
F1_ZERO = [0.5, 0.5, 3 / 7, 1.0, 11 / 15]
ACC = [0.5, 1.0, 0.75, 1.0, 0.75]


def test_node_f1_and_accuracy_by_hand():
  c = metrics.NodeCounts.from_predictions(PROBS, LABELS, WEIGHT)
  np.testing.assert_allclose(c.f1('ignore'), F1_IGNORE)
  np.testing.assert_allclose(c.f1('zero'), F1_ZERO)
  np.testing.assert_allclose(c.accuracy(), ACC)
  np.testing.assert_array_equal(c.total, 4)
  # The padding row, if scored, changes the answer (the test can fail).
  all_rows = metrics.NodeCounts.from_predictions(PROBS, LABELS)
  assert not np.allclose(all_rows.f1(), F1_IGNORE)


def test_counts_add_over_batches_partial_last_batch_kept():
  whole = metrics.NodeCounts.from_predictions(PROBS[:4], LABELS[:4])
  parts = (metrics.NodeCounts.from_predictions(PROBS[:3], LABELS[:3])
           + metrics.NodeCounts.from_predictions(PROBS[3:4], LABELS[3:4]))
  for a, b in zip((whole.tp, whole.fp, whole.fn, whole.tn),
                  (parts.tp, parts.fp, parts.fn, parts.tn)):
    np.testing.assert_array_equal(a, b)


def test_group_means(monkeypatch):
  monkeypatch.setattr(metrics, 'group_nodes', lambda: {
      'loss': np.array([0, 1]), 'continuous': np.array([2]),
      'discrete': np.array([3, 4])})
  c = metrics.NodeCounts.from_predictions(PROBS, LABELS, WEIGHT)
  out = metrics.node_metrics(c)
  assert out['groups']['loss'] == pytest.approx(dict(f1=0.75, accuracy=0.75))
  assert out['groups']['continuous'] == pytest.approx(dict(f1=3 / 7,
                                                           accuracy=0.75))
  assert out['groups']['discrete'] == pytest.approx(dict(f1=13 / 15,
                                                        accuracy=0.875))


def test_real_groups_are_the_schema_families():
  g = metrics.group_nodes()
  assert list(g['loss']) == list(range(10))
  assert list(g['continuous']) == list(range(10, 37))
  assert list(g['discrete']) == list(range(37, 55))


def test_f1_matches_sklearn_definition_on_random_data():
  # Reference written out from sklearn's definition (labels present in either).
  rng = np.random.default_rng(0)
  p = rng.uniform(size=(40, 6))
  y = (rng.uniform(size=(40, 6)) < 0.3).astype(float)
  y[:, 5] = 0
  p[:, 5] = 0.1
  f1 = metrics.NodeCounts.from_predictions(p, y).f1()
  for j in range(6):
    pred, true = p[:, j] > 0.5, y[:, j] >= 0.5
    scores = []
    for cls in sorted(set(pred) | set(true)):
      tp = np.sum((pred == cls) & (true == cls))
      fp = np.sum((pred == cls) & (true != cls))
      fn = np.sum((pred != cls) & (true == cls))
      scores.append(2 * tp / (2 * tp + fp + fn))
    assert f1[j] == pytest.approx(np.mean(scores))


def test_l1_masks_not_reported_and_padding():
  pred = np.array([[0.1, 0.5], [0.3, 0.9], [5.0, 5.0]])
  tgt = np.array([[0.2, 999999.0], [0.0, 0.5], [0.0, 0.0]])
  mask = np.array([[1, 0], [1, 1], [1, 1]])
  l1 = metrics.L1Sums.from_predictions(pred, tgt, mask, weight=[1, 1, 0])
  np.testing.assert_allclose(l1.per_hyperparameter(), [0.2, 0.4])
  assert l1.mean() == pytest.approx(0.3)
  only_first = metrics.L1Sums.from_predictions(pred, tgt, mask, [1, 0, 0])
  assert math.isnan(only_first.per_hyperparameter()[1])
  assert only_first.mean() == pytest.approx(0.1)   # NaN column left out.
  np.testing.assert_allclose((l1 + only_first).count, [3, 1])


# A hand-made similarity set: 3 same-GM pairs, 4 different-GM pairs.
SIM = np.array([0.9, 0.8, 0.4, 0.7, 0.3, 0.4, 0.1])
SAME = np.array([1, 1, 1, 0, 0, 0, 0], bool)


def test_auc_with_ties_by_hand():
  # same > diff: 4 + 4 + 2, one tie (0.4 vs 0.4) counts 1/2 -> 10.5 / 12.
  assert metrics.auc(SIM, SAME) == pytest.approx(10.5 / 12)


def test_pd_at_far_by_hand():
  assert metrics.pd_at_far(SIM, SAME, 0.05) == pytest.approx(2 / 3)
  assert metrics.pd_at_far(SIM, SAME, 0.25) == pytest.approx(2 / 3)
  assert metrics.pd_at_far(SIM, SAME, 0.5) == pytest.approx(1.0)


def test_best_threshold_and_calibrated_accuracy():
  t, acc = metrics.best_threshold(SIM, SAME)
  assert t == pytest.approx(0.75) and acc == pytest.approx(6 / 7)
  unseen = (np.array([0.8, 0.76, 0.5, 0.45, 0.2]),
            np.array([1, 1, 1, 0, 0], bool))
  out = metrics.attack_metrics({'seen': (SIM, SAME), 'unseen': unseen})
  assert out['seen']['accuracy'] == pytest.approx(6 / 7)
  # threshold 0.75 from the seen pairs: 0.5 is missed -> 4 / 5.
  assert out['unseen']['threshold'] == pytest.approx(0.75)
  assert out['unseen']['accuracy'] == pytest.approx(4 / 5)
  assert out['unseen']['oracle_accuracy'] == pytest.approx(1.0)
  assert out['unseen']['auc'] == pytest.approx(1.0)
  assert out['unseen']['num_same'] == 3


def test_sample_pairs_deterministic_half_same():
  gms = np.array([3, 3, 3, 5, 5, 7, 9, 9])
  a, b, same = metrics.sample_pairs(gms, 101, seed=1)
  a2, b2, same2 = metrics.sample_pairs(gms, 101, seed=1)
  np.testing.assert_array_equal(a, a2)
  np.testing.assert_array_equal(b, b2)
  assert same.sum() == 50 and (~same).sum() == 51
  np.testing.assert_array_equal(gms[a] == gms[b], same)
  assert np.all(a[same] != b[same])
  # GM 7 has one image: it appears only in different pairs.
  assert not np.any(gms[a[same]] == 7)
  a3, _, _ = metrics.sample_pairs(gms, 101, seed=2)
  assert not np.array_equal(a, a3)


def test_cosine_and_descriptors():
  d = metrics.descriptors([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5]])
  np.testing.assert_allclose(d, [[1, -1, 0], [-1, 1, 0]])
  np.testing.assert_allclose(metrics.cosine_similarity(d[:1], d[1:]), [-1.0])
  np.testing.assert_allclose(
      metrics.cosine_similarity([[0, 0], [3, 4]], [[1, 0], [6, 8]]), [0, 1])


def test_mean_std_over_folds():
  out = metrics.mean_std([0.8, 0.9, None, math.nan])
  assert out == pytest.approx(dict(mean=0.85, std=0.05, n=2))
  assert metrics.mean_std([])['n'] == 0
