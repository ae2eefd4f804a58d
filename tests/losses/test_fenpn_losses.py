"""FEN-PN's objectives against numpy references and hand-computed values:
the four fingerprint constraints, k-means, the cluster and deviation terms,
padding and real images, the logged accuracies."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from lgpn_jax.losses import fenpn as losses

GRAY = np.array([0.299, 0.587, 0.114])


def np_terms(fingerprint, radius):
  """The four constraints of one batch, written with numpy's FFT."""
  g = np.asarray(fingerprint, np.float64) @ GRAY
  s = np.abs(np.fft.fftshift(np.fft.fft2(g), axes=(-2, -1)))
  h, w = g.shape[1:]
  win = np.zeros((h, w), bool)
  cy, cx = h // 2, w // 2          # fftshift puts frequency 0 here.
  win[cy - radius:cy + radius + 1, cx - radius:cx + radius + 1] = True
  return dict(magnitude=(g ** 2).mean((1, 2)),
              spectrum=np.array([(si[win] ** 2).mean() for si in s]),
              repetitive=np.array([-si[~win].max() for si in s]),
              symmetry=((s - s.transpose(0, 2, 1)) ** 2).mean((1, 2)))


def test_fingerprint_constraints_match_numpy_on_random_fingerprints():
  f = np.random.default_rng(0).normal(size=(3, 10, 10, 3))
  gray, spec = losses.gray_and_spectrum(jnp.asarray(f, jnp.float32))
  got = dict(magnitude=losses.magnitude_loss(gray),
             spectrum=losses.spectrum_loss(spec, 2),
             repetitive=losses.repetitive_loss(spec, 2),
             symmetry=losses.symmetry_loss(spec))
  for k, want in np_terms(f, 2).items():
    np.testing.assert_allclose(got[k], want, rtol=2e-5, err_msg=k)


def test_a_cosine_fingerprint_by_hand():
  """g = cos(2 pi 3 x / 8) in every row: S has two peaks of H W / 2 = 32 at
  horizontal frequency +-3 and is 0 elsewhere."""
  x = np.arange(8)
  g = np.broadcast_to(np.cos(2 * np.pi * 3 * x / 8), (8, 8))
  # The same g in every channel: gray = g.
  f = jnp.asarray(np.repeat(g[None, :, :, None], 3, -1), jnp.float32)
  gray, spec = losses.gray_and_spectrum(f)
  assert float(losses.magnitude_loss(gray)[0]) == pytest.approx(0.5, rel=1e-5)
  # Peaks at (4, 4 +- 3): outside the 3x3 window, inside a 7x7 one.
  assert float(losses.spectrum_loss(spec, 1)[0]) == pytest.approx(0, abs=1e-8)
  assert float(losses.spectrum_loss(spec, 3)[0]) == pytest.approx(
      2 * 32 ** 2 / 49, rel=1e-5)
  assert float(losses.repetitive_loss(spec, 1)[0]) == pytest.approx(
      -32, rel=1e-5)
  assert float(losses.repetitive_loss(spec, 3)[0]) == pytest.approx(0, abs=1e-4)
  # The transpose moves both peaks: 4 entries differ by 32 out of 64.
  assert float(losses.symmetry_loss(spec)[0]) == pytest.approx(4 * 32 ** 2 / 64,
                                                               rel=1e-5)


def test_low_frequency_window_and_its_limits():
  w = losses.low_frequency_window((6, 6), 1)
  assert w.sum() == 9 and w[2:5, 2:5].all()   # centre (3, 3).
  with pytest.raises(ValueError, match='low_freq_radius'):
    losses.low_frequency_window((6, 6), 3)
  with pytest.raises(ValueError, match='square'):
    losses.symmetry_loss(jnp.zeros((1, 4, 6)))


def test_kmeans_finds_obvious_groups_and_is_a_lloyd_fixed_point():
  pts = np.array([[0.0], [0.1], [0.2], [5.0], [5.2], [9.0]])
  centres, assign = losses.kmeans(pts, 3)
  groups = {tuple(np.flatnonzero(assign == j)) for j in range(3)}
  assert groups == {(0, 1, 2), (3, 4), (5,)}
  np.testing.assert_allclose(sorted(centres[:, 0]), [0.1, 5.1, 9.0])
  x = np.random.default_rng(1).uniform(size=(40, 3))
  centres, assign = losses.kmeans(x, 5)
  d = ((x[:, None] - centres[None]) ** 2).sum(-1)
  np.testing.assert_array_equal(assign, d.argmin(1))
  for j in range(5):
    np.testing.assert_allclose(centres[j], x[assign == j].mean(0))
  with pytest.raises(ValueError, match='distinct'):
    losses.kmeans(np.zeros((4, 2)), 2)


CLUSTERS = losses.Clusters(
    centres=np.array([[0.0, 0.0], [1.0, 1.0]], np.float32),
    of_gm=np.array([0, 1, -1], np.int32),
    deviation=np.array([[0.1, -0.2], [0.3, 0.0], [0.0, 0.0]], np.float32),
    mask=np.array([[1, 1], [1, 0], [0, 0]], np.float32))


def batch_and_outputs():
  """Images of GM 0, GM 1, an unclustered GM 2, a real image, a pad row."""
  batch = dict(gm_index=jnp.array([0, 1, 2, -1, 0]),
               is_generated=jnp.array([1, 1, 1, 0, 1]),
               label=jnp.zeros((5, 3)),
               mask=jnp.array([1.0, 1.0, 1.0, 1.0, 0.0]))
  outputs = dict(fingerprint=jnp.zeros((5, 8, 8, 3)),
                 node_logits=jnp.zeros((5, 3)),
                 cluster_logits=jnp.array([[2.0, 0.0]] * 2 + [[0.0, 1.0]] * 3),
                 deviation=jnp.array([[0.0, 0.0], [0.5, 7.0], [1.0, 1.0],
                                      [1.0, 1.0], [1.0, 1.0]]))
  return batch, outputs


def test_cluster_and_deviation_terms_by_hand():
  batch, outputs = batch_and_outputs()
  terms = losses.loss_terms(outputs, batch, CLUSTERS, 1)
  value, weight = terms['cluster']
  ce_right = math.log1p(math.exp(-2.0))       # GM 0, cluster 0, logits (2, 0).
  ce_wrong = math.log1p(math.exp(2.0))        # GM 1, cluster 1, logits (2, 0).
  np.testing.assert_allclose(value, [ce_right, ce_wrong, 0, 0, 0], rtol=1e-6)
  np.testing.assert_array_equal(weight, [1, 1, 0, 0, 0])
  value, weight = terms['deviation']
  # GM 0: (0 - 0.1)^2 + (0 + 0.2)^2; GM 1: (0.5 - 0.3)^2, its second value
  # not reported (7.0 never counts).
  np.testing.assert_allclose(value, [0.05, 0.04, 0, 0, 0], rtol=1e-5)
  np.testing.assert_array_equal(weight, [2, 1, 0, 0, 0])
  for k in losses.FINGERPRINT_TERMS:   # every image but the pad row.
    np.testing.assert_array_equal(terms[k][1], [1, 1, 1, 1, 0])
  np.testing.assert_array_equal(terms['node'][1], [1, 1, 1, 0, 0])


def test_cluster_accuracy_counts_clustered_generated_images():
  batch, outputs = batch_and_outputs()
  sums, counts = losses.accuracy_terms(outputs, batch, CLUSTERS)
  assert set(sums) == {'node_accuracy', 'cluster_accuracy'}
  assert float(sums['cluster_accuracy']) == 1.0     # GM 0 right, GM 1 wrong.
  assert float(counts['cluster_accuracy']) == 2.0


def test_config_weights_read_every_term():
  cfg = {f'{k}_weight': i + 1.0 for i, k in enumerate(
      losses.FINGERPRINT_TERMS + losses.PARSING_TERMS)}
  w = losses.config_weights(cfg)
  assert w == dict(magnitude=1.0, spectrum=2.0, repetitive=3.0, symmetry=4.0,
                   node=5.0, cluster=6.0, deviation=7.0)
