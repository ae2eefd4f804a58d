"""The coordinated-attack protocol on hand-made descriptors: the descriptor's
layout, the validation threshold carried to the other sets, and the routing
of held-out images out of the training pass."""

import numpy as np
import pytest

from lgpn_jax.evaluation.parsing import attack
from lgpn_jax.red140 import schema, selection


def test_descriptor_is_loss_discrete_probabilities_then_regressed():
  p = np.arange(2 * 55, dtype=float).reshape(2, 55) / 200
  r = np.full((2, 9), 7.0)
  d = attack.descriptors(p, r)
  assert d.shape == (2, 37)
  np.testing.assert_array_equal(d[:, :10], p[:, schema.family_nodes('loss')])
  np.testing.assert_array_equal(d[:, 10:28], p[:, schema.family_nodes('discrete')])
  np.testing.assert_array_equal(d[:, 28:], r)


def _rows(angles_per_gm: dict, bucket=None):
  """Images whose descriptor is (cos a, sin a) in the regressed slots."""
  gms, reg = [], []
  for g, angles in angles_per_gm.items():
    for a in angles:
      gms.append(g)
      r = np.zeros(9)
      r[:2] = np.cos(np.radians(a)), np.sin(np.radians(a))
      reg.append(r)
  out = dict(probabilities=np.zeros((len(gms), 55)), regressed=np.array(reg),
             gm_index=np.array(gms))
  if bucket is not None:
    out['bucket'] = np.full(len(gms), bucket)
  return out


def test_the_validation_threshold_decides_accuracy_elsewhere():
  # Validation GMs (bucket < 10): same-GM cos 1, different GMs 60 deg apart
  # (cos 0.5) -> best threshold 0.75. Seen: the same geometry (accuracy 1).
  # Unseen: same-GM images 45 deg apart (cos 0.71 < 0.75), GMs >= 135 apart.
  val = _rows({1: [0, 0], 2: [60, 60], 3: [120, 120]}, bucket=3)
  seen = _rows({4: [0, 0], 5: [60, 60], 6: [120, 120]}, bucket=15)
  heldout = {k: np.concatenate([val[k], seen[k]]) for k in val}
  unseen = _rows({7: [-22.5, 22.5], 8: [157.5, 202.5]})
  out, curves = attack.evaluate(unseen, heldout, holdout_percent=20,
                                num_pairs=400, seed=0, far=0.05)
  assert out['threshold_from'] == 'validation'
  assert out['validation']['threshold'] == pytest.approx(0.75)
  assert out['seen']['accuracy'] == 1 and out['seen']['auc'] == 1
  u = out['unseen']
  assert u['threshold'] == pytest.approx(0.75)
  assert u['accuracy'] == pytest.approx(1 - u['num_same'] / u['num_pairs'])
  assert u['oracle_accuracy'] == 1 and u['auc'] == 1
  # Mixed: both kinds of images; unseen same-GM pairs still fall below.
  assert out['mixed']['num_pairs'] == 400 and out['mixed']['auc'] < 1
  assert set(curves) == {'seen', 'unseen', 'mixed'}


def test_without_held_out_images_only_unseen_and_no_accuracy():
  unseen = _rows({7: [0, 0], 8: [90, 90]})
  out, _ = attack.evaluate(unseen, None, holdout_percent=0, num_pairs=50,
                           seed=1, far=0.05)
  assert set(out) & set(attack.SETS) == {'unseen'}
  assert out['unseen']['accuracy'] is None and out['unseen']['auc'] == 1
  assert out['threshold_from'] is None


def test_collector_masks_held_out_rows_and_predicts_them_in_full_batches():
  rng = np.random.default_rng(0)
  images = (rng.integers(0, 256, (40, 8, 8, 3)) / 255.0 - 0.5) / 0.5
  gm = np.where(np.arange(40) % 5 == 0, -1, np.arange(40) % 7)
  bucket = selection.holdout_bucket(images)
  held = (gm >= 0) & (bucket < 30)
  calls = []

  def predictor(x):
    calls.append(len(x))
    return dict(probabilities=np.repeat(x[:, :1, 0, 0], 55, 1),
                continuous_features=np.repeat(x[:, :1, :1, 0], 27, 1))

  sel = selection.get(1, holdout_percent=30)
  col = attack.HeldOutCollector(sel, predictor, batch_size=4)
  batches = [dict(image=images[i:i + 8], gm_index=gm[i:i + 8],
                  mask=np.ones(8, np.float32)) for i in range(0, 40, 8)]
  batches[-1]['mask'][-1] = 0          # padding is never held out.
  out_batches = list(col.wrap(batches))
  mask = np.concatenate([b['mask'] for b in out_batches])
  expect_held = held.copy()
  expect_held[-1] = False
  np.testing.assert_array_equal(mask > 0, ~expect_held & (np.arange(40) != 39))
  out = col.outputs()
  assert set(calls) == {4}             # one compiled shape.
  np.testing.assert_array_equal(out['heldout_gm_index'], gm[expect_held])
  np.testing.assert_array_equal(out['heldout_bucket'], bucket[expect_held])
  np.testing.assert_allclose(out['heldout_probabilities'][:, 0],
                             images[expect_held][:, 0, 0, 0], rtol=1e-6)
  assert out['heldout_features'].shape == (expect_held.sum(), 27, 1)
  assert int(out['heldout_percent']) == 30
  assert attack.cache_matches(out, sel)
  assert not attack.cache_matches({}, sel)


def test_heldout_outputs_regress_the_cached_features():
  class Head:
    def predict(self, f):
      return np.asarray(f)[:, :9, 0] * 2

  seen = dict(heldout_probabilities=np.ones((3, 55)),
              heldout_features=np.ones((3, 27, 1)),
              heldout_gm_index=np.array([1, 1, 2]),
              heldout_bucket=np.array([0, 5, 9]))
  out = attack.heldout_outputs(seen, Head())
  np.testing.assert_array_equal(out['regressed'], np.full((3, 9), 2.0))
  assert attack.heldout_outputs(dict(probabilities=np.ones(1)), Head()) is None
