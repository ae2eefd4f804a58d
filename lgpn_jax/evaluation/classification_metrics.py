"""Metrics of the classification tasks (numpy only; definitions in DEFINITIONS,
restated in every task eval JSON).

Detection: per test GM, average precision (AP) and accuracy of that GM's
test images (positives) against the real test images (negatives), then the
mean over test GMs. AP is sklearn's ``average_precision_score`` (no
interpolation): sum_n (R_n - R_{n-1}) P_n over the distinct score
thresholds, highest first. Attribution: accuracy over all test images,
per-class accuracy (recall) and the confusion matrix (rows: true class,
columns: predicted class).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

DEFINITIONS = {
    'ap': 'average precision of P(generated), positives = the GM\'s test '
          'images, negatives = the real test images; sum_n (R_n - R_{n-1}) '
          'P_n over distinct thresholds (sklearn average_precision_score)',
    'accuracy_detection': 'share of the GM\'s images and the real images '
                          'classified correctly (argmax of the 2 logits)',
    'mean': 'unweighted mean over test GMs',
    'accuracy_attribution': 'share of test images whose argmax class is the '
                            'true class (class 0 = real)',
    'confusion': 'counts, rows = true class, columns = predicted class',
}


def average_precision(scores: Sequence[float], labels: Sequence[int]) -> float:
  """AP of ``scores`` for binary ``labels`` (1 = positive); nan without
  positives."""
  scores = np.asarray(scores, np.float64)
  labels = np.asarray(labels).astype(bool)
  if not labels.any():
    return float('nan')
  order = np.argsort(-scores, kind='mergesort')
  scores, labels = scores[order], labels[order]
  last = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]  # per threshold.
  tp = np.cumsum(labels)[last]
  precision = tp / (last + 1)
  recall = tp / labels.sum()
  return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def accuracy(predictions: Sequence[int], labels: Sequence[int]) -> float:
  """Share of equal entries (nan when empty)."""
  predictions, labels = np.asarray(predictions), np.asarray(labels)
  return float(np.mean(predictions == labels)) if len(labels) else float('nan')


def detection_report(p_generated: np.ndarray, gm_index: np.ndarray,
                     gm_names: Sequence[str], test_gms: Sequence[str],
                     threshold: float = 0.5) -> dict:
  """Per-test-GM AP / accuracy vs the real images, and their means.

  ``p_generated`` [n] P(class 1); ``gm_index`` [n] (-1 real); ``gm_names``
  the table's names (index -> name).
  """
  p = np.asarray(p_generated, np.float64)
  gm_index = np.asarray(gm_index)
  real = gm_index < 0
  per_gm = {}
  for name in test_gms:
    gen = gm_index == list(gm_names).index(name)
    sel = real | gen
    labels = gen[sel].astype(int)
    per_gm[name] = dict(
        ap=average_precision(p[sel], labels),
        accuracy=accuracy((p[sel] >= threshold).astype(int), labels),
        accuracy_generated=accuracy((p[gen] >= threshold).astype(int),
                                    np.ones(gen.sum(), int)),
        num_images=int(gen.sum()))
  vals = lambda k: [r[k] for r in per_gm.values() if np.isfinite(r[k])]
  return dict(
      per_gm=per_gm,
      mean_ap=float(np.mean(vals('ap'))) if vals('ap') else float('nan'),
      mean_accuracy=(float(np.mean(vals('accuracy'))) if vals('accuracy')
                     else float('nan')),
      accuracy_real=accuracy((p[real] >= threshold).astype(int),
                             np.zeros(real.sum(), int)),
      num_real=int(real.sum()))


def confusion_matrix(predictions, labels, num_classes: int) -> np.ndarray:
  """[C, C] counts: rows true class, columns predicted class."""
  m = np.zeros((num_classes, num_classes), np.int64)
  np.add.at(m, (np.asarray(labels, int), np.asarray(predictions, int)), 1)
  return m


def attribution_report(predictions, labels, class_names: Sequence[str]) -> dict:
  """Accuracy, per-class accuracy and the confusion matrix."""
  cm = confusion_matrix(predictions, labels, len(class_names))
  rows = cm.sum(1)
  return dict(
      accuracy=accuracy(predictions, labels),
      per_class_accuracy={n: (float(cm[i, i] / rows[i]) if rows[i]
                              else float('nan'))
                          for i, n in enumerate(class_names)},
      per_class_images={n: int(rows[i]) for i, n in enumerate(class_names)},
      confusion=cm.tolist(), class_names=list(class_names))
