"""Detection / attribution metrics on fixed predictions, checked by hand."""

import numpy as np
import pytest

from lgpn_jax.evaluation import classification_metrics as task_metrics

def test_average_precision_by_hand():
  # ranked: 0.9 P, 0.8 N, 0.7 P, 0.1 N -> AP = 1/2 * 1 + 1/2 * 2/3.
  ap = task_metrics.average_precision([0.1, 0.9, 0.7, 0.8], [0, 1, 1, 0])
  assert ap == pytest.approx(0.5 + 1 / 3)
  assert task_metrics.average_precision([0.2, 0.9], [0, 1]) == 1.0
  # a tie between a positive and a negative is one threshold: P = 1/2.
  assert task_metrics.average_precision([0.5, 0.5], [1, 0]) == 0.5
  assert np.isnan(task_metrics.average_precision([0.5], [0]))


def test_accuracy_and_confusion_by_hand():
  assert task_metrics.accuracy([0, 1, 2, 2], [0, 1, 1, 2]) == 0.75
  cm = task_metrics.confusion_matrix([0, 1, 2, 2], [0, 1, 1, 2], 3)
  np.testing.assert_array_equal(cm, [[1, 0, 0], [0, 1, 1], [0, 0, 1]])
  r = task_metrics.attribution_report([0, 1, 2, 2], [0, 1, 1, 2],
                                      ['real', 'A', 'B'])
  assert r['accuracy'] == 0.75
  assert r['per_class_accuracy'] == {'real': 1.0, 'A': 0.5, 'B': 1.0}
  assert r['per_class_images'] == {'real': 1, 'A': 2, 'B': 1}


def test_detection_report_per_gm_and_mean():
  names = ['G0', 'G1', 'G2']
  # real: 0.1, 0.6 | G0: 0.9, 0.7 | G2: 0.4.
  p = np.array([0.1, 0.6, 0.9, 0.7, 0.4])
  gm = np.array([-1, -1, 0, 0, 2])
  r = task_metrics.detection_report(p, gm, names, ['G0', 'G2'])
  g0, g2 = r['per_gm']['G0'], r['per_gm']['G2']
  assert g0['ap'] == 1.0                      # both above every real image.
  assert g0['accuracy'] == 0.75               # real 0.6 is called generated.
  assert g0['accuracy_generated'] == 1.0 and g0['num_images'] == 2
  # G2 (0.4) ranks below real 0.6: P at its recall step = 1/2.
  assert g2['ap'] == 0.5
  assert g2['accuracy'] == pytest.approx(1 / 3)
  assert r['mean_ap'] == pytest.approx(0.75)
  assert r['mean_accuracy'] == pytest.approx((0.75 + 1 / 3) / 2)
  assert r['accuracy_real'] == 0.5 and r['num_real'] == 2
