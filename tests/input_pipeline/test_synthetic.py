"""Synthetic RED: labels, splits, determinism, and traces a probe can read."""

import collections
import os

import numpy as np

from input_pipeline import builders, pipeline, splits
from input_pipeline.synthetic import arch
from input_pipeline.synthetic import generator, losses
from lgpn_jax.red140 import folds, schema


def test_every_gm_with_its_label(synthetic_builder, tiny_build, read_records):
  b = synthetic_builder
  records = read_records(b, '+'.join(sorted(b.info.splits)))
  per_gm = collections.Counter()
  for ex in records:
    gm = ex['gm'].decode()
    if not gm:
      assert ex['gm_index'] == -1 and ex['is_generated'] == 0
      assert ex['test_set'] == 0 and not ex['label'].any()
      per_gm['<real>'] += 1
      continue
    info = schema.get_gm(gm)
    np.testing.assert_array_equal(ex['label'], schema.encode(info.raw))
    np.testing.assert_array_equal(ex['label'],
                                  schema.label_table()[ex['gm_index']])
    values, mask = schema.continuous_values(info.raw)
    np.testing.assert_array_equal(ex['continuous'], values)
    np.testing.assert_array_equal(ex['continuous_mask'], mask)
    assert ex['test_set'] == info.test_set and ex['is_generated'] == 1
    per_gm[gm] += 1
  assert per_gm.pop('<real>') == tiny_build['num_real']
  assert per_gm == {g.name: tiny_build['images_per_gm'] for g in schema.gms()}


def test_each_split_holds_exactly_its_gms(synthetic_builder, tiny_shards, read_records):
  b = synthetic_builder
  assert sorted(b.info.splits) == sorted(splits.all_splits())
  for split in splits.all_splits():
    assert len(b.info.splits[split].filepaths) == tiny_shards
    gms = {ex['gm'].decode() for ex in read_records(b, split)}
    if split == 'real':
      assert gms == {''}
    else:
      assert gms == {g.name for g in schema.gms()
                     if splits.split_of(g.name) == split}


def test_rebuild_is_identical(synthetic_builder, tmp_path, tiny_build, tiny_shards, shard_contents):
  again = builders.ensure_built('synthetic', str(tmp_path), num_shards=tiny_shards,
                             verbose=False, num_workers=1, **tiny_build)
  first = shard_contents(os.fspath(synthetic_builder.data_dir))
  assert len(first) == tiny_shards * len(splits.all_splits())
  assert first == shard_contents(os.fspath(again.data_dir))


def test_images_do_not_depend_on_their_batch():
  all4 = generator.generate('WGAN', range(4), 32, seed=3)
  np.testing.assert_array_equal(
      generator.generate('WGAN', [3, 1], 32, seed=3), all4[[3, 1]])
  other = generator.generate('WGAN', range(4), 32, seed=4)
  assert np.abs(other.astype(int) - all4).mean() > 10


def test_architecture_follows_labels():
  dcgan = arch.for_gm('DCGAN')
  assert (dcgan.upsampling, dcgan.normalization) == ('nearest', 'batch')
  assert dcgan.output_activation == 'tanh' and not dcgan.encoder
  cyc = arch.for_gm('CYCLEGAN')
  assert cyc.upsampling == 'transposed' and cyc.encoder and cyc.skip
  assert cyc.normalization == 'instance'
  for gm in schema.gms():
    a = arch.from_raw(gm.raw)
    label = schema.encode(gm.raw)
    assert (a.upsampling == 'transposed') == bool(label[52])
    assert a.encoder == bool(label[54]) and a.skip == bool(label[53])
    assert len(a.losses) == int(label[:10].sum())


def test_simulated_loss_statistics():
  rng = np.random.default_rng(0)
  y = rng.uniform(0.2, 0.8, (2, 16, 16, 3)).astype(np.float32)
  ce = losses.output(y, ['CE'])
  assert len(np.unique(ce)) <= losses.CE_LEVELS
  mmd = losses.output(y, ['MMD'])
  np.testing.assert_allclose(mmd.mean(axis=(1, 2)), 0.45, atol=0.02)
  ls = losses.output(y, ['LS'])
  assert ls.std() < 0.9 * y.std()
  assert losses.blur_sigma(['KL']) > losses.blur_sigma(
      ['MSE']) > 0 == losses.blur_sigma(['Adversarial'])


def spectral_features(images):
  """Log band energies of the centred power spectrum, per image [N, 7]."""
  x = images - images.mean(axis=(1, 2), keepdims=True)
  p = (np.abs(np.fft.fft2(x, axes=(1, 2))) ** 2).mean(-1)
  s = p.shape[1]
  h = s // 2
  f = np.abs(np.fft.fftfreq(s))
  r = np.maximum(f[:, None], f[None, :])
  total = p.sum((1, 2))
  nyquist = p[:, h, :].sum(1) + p[:, :, h].sum(1)
  high = p[:, r >= 0.25].sum(1)
  near = p[:, r >= 0.4].sum(1)
  mid = p[:, (r >= 0.125) & (r < 0.25)].sum(1)
  feats = np.stack([nyquist / total, p[:, h, h] / total, high / total,
                    mid / total, near / total, nyquist / near, nyquist / high], 1)
  return np.log(feats + 1e-12)


def logistic_regression(x, y, steps=2000, lr=0.5, l2=1e-3):
  w = np.zeros(x.shape[1])
  b = 0.0
  for _ in range(steps):
    p = 1 / (1 + np.exp(-(x @ w + b)))
    w -= lr * (x.T @ (p - y) / len(y) + l2 * w)
    b -= lr * (p - y).mean()
  return w, b


def test_linear_probe_reads_upsampling_on_unseen_gms(synthetic_builder, tiny_build):
  """Trained on fold 1's training GMs, tested on its unseen test GMs."""
  data = {}
  for side in ('train', 'test'):
    it = pipeline.eval_iterator(synthetic_builder, 1, batch_size=64,
                                split=side, image_size=tiny_build['image_size'],
                                process_index=0, process_count=1)
    xs, ys = [], []
    for batch in it:
      keep = (batch['mask'] > 0) & (batch['is_generated'] == 1)
      xs.append(batch['image'][keep])
      ys.append(batch['label'][keep, 52])   # discrete/upsampling/deconvolution
    data[side] = np.concatenate(xs), np.concatenate(ys)
  fold = folds.get_fold(1)
  assert len(data['test'][0]) == len(fold.test) * tiny_build['images_per_gm']
  ftr, ytr = spectral_features(data['train'][0]), data['train'][1]
  fte, yte = spectral_features(data['test'][0]), data['test'][1]
  mu, sd = ftr.mean(0), ftr.std(0)
  w, b = logistic_regression((ftr - mu) / sd, ytr)
  acc = (((fte - mu) / sd @ w + b > 0) == yte).mean()
  chance = max(yte.mean(), 1 - yte.mean())
  assert acc >= max(0.8, chance + 0.15), (acc, chance)
