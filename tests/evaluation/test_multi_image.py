"""A tiny concatenation head trained on synthetic frozen features: k images
beat one when each image carries a weak copy of its GM's label."""

import numpy as np
import pytest

from lgpn_jax.evaluation import metrics
from lgpn_jax.evaluation.parsing import multi_image, report


def _features(gms, per_gm, labels, rng, signal=0.5):
  """Node feature dim 0 = signal * (2 label - 1) + unit noise, per image."""
  gm = np.repeat(gms, per_gm)
  f = rng.normal(size=(len(gm), 55, 4))
  f[:, :, 0] += signal * (2 * labels[gm] - 1)
  return f.astype(np.float16), gm


def test_concatenated_images_beat_one_image_on_unseen_gms():
  rng = np.random.default_rng(0)
  labels = (rng.uniform(size=(140, 55)) < 0.5).astype(np.float32)
  targets = dict(labels=labels, values=rng.uniform(size=(140, 9)),
                 mask=np.ones((140, 9)))
  train_f, train_gm = _features(np.arange(40), 16, labels, rng)
  test_f, test_gm = _features(np.arange(100, 110), 16, labels, rng)
  opts = dict(multi_image.DEFAULTS, steps=300, batch_size=32, hidden=16,
              learning_rate=3e-3)
  acc = {}
  for k in (1, 8):
    head, params, loss = multi_image.train_head(train_f, train_gm, targets,
                                                k, opts)
    assert np.isfinite(loss)
    groups = report.group_images(test_gm, k)
    assert len(groups) == 10 * 16 // k
    pred = multi_image.predict(head, params, test_f, groups)
    assert pred['regressed'].shape == (len(groups), 9)
    truth = labels[test_gm[[g[0] for g in groups]]]
    counts = metrics.NodeCounts.from_predictions(pred['probabilities'], truth)
    acc[k] = float(np.mean(counts.accuracy()))
  # One image: P(correct) = Phi(0.5) = 0.69; eight concatenated: Phi(1.41) =
  # 0.92 for an ideal head.
  assert 0.6 < acc[1] < 0.78
  assert acc[8] > acc[1] + 0.1


def test_settings_defaults_and_unknown_fields():
  import ml_collections
  c = ml_collections.ConfigDict(dict(multi_image=dict(steps=5)))
  assert multi_image.concat_settings(c) == dict(multi_image.DEFAULTS, steps=5)
  c.multi_image.stepz = 1
  with pytest.raises(KeyError, match='stepz'):
    multi_image.concat_settings(c)
