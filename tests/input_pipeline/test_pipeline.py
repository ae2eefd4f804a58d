"""tf.data pipelines: fold contents, host sharding, padded eval, device put."""

import hashlib

import numpy as np
import pytest

from input_pipeline import pipeline, sharding
from lgpn_jax.red140 import folds, schema

KEYS = {'image': (np.float32, (32, 32, 3)), 'label': (np.float32, (55,)),
        'is_generated': (np.int32, ()), 'gm_index': (np.int32, ()),
        'continuous': (np.float32, (9,)), 'continuous_mask': (np.float32, (9,)),
        'test_set': (np.int32, ())}


def _ids(batches):
  """A digest per real (mask 1) example, from its pixels and GM."""
  out = []
  for b in batches:
    for i in np.flatnonzero(b['mask'] > 0):
      out.append(hashlib.sha1(b['image'][i].tobytes()
                              + b['gm_index'][i].tobytes()).hexdigest())
  return out


def _gm_names(batches):
  names = {g.name for g in schema.gms()}
  out = set()
  for b in batches:
    for i in np.flatnonzero(b.get('mask', np.ones(len(b['gm_index']))) > 0):
      g = int(b['gm_index'][i])
      out.add('<real>' if g < 0 else schema.gms()[g].name)
  assert out - {'<real>'} <= names
  return out


@pytest.mark.parametrize('protocol', folds.PROTOCOLS)
def test_fold_streams_hold_the_folds_gms(synthetic_builder, protocol, tiny_build):
  b = synthetic_builder
  for fold in range(1, 5):
    f = folds.get_fold(fold, protocol)
    test = list(pipeline.eval_iterator(b, fold, protocol, batch_size=64,
                                       image_size=32, process_index=0,
                                       process_count=1))
    assert _gm_names(test) == set(f.test)
    train = list(pipeline.eval_iterator(b, fold, protocol, batch_size=256,
                                        split='train', image_size=32,
                                        process_index=0, process_count=1))
    assert _gm_names(train) == set(f.train) | {'<real>'}
    n_train = sum(int(x['mask'].sum()) for x in train)
    assert n_train == len(f.train) * tiny_build['images_per_gm'] + tiny_build['num_real']
    assert not set(f.dropped) & _gm_names(train + test)


def test_train_batches(synthetic_builder):
  it = pipeline.train_iterator(synthetic_builder, 2, batch_size=16,
                               image_size=32, process_index=0, process_count=1,
                               seed=1)
  test_gms = set(folds.get_fold(2).test)
  seen = []
  for _ in range(20):
    batch = next(it)
    assert set(batch) == set(KEYS)
    for key, (dtype, shape) in KEYS.items():
      assert batch[key].dtype == dtype, key
      assert batch[key].shape == (16,) + shape, key
    assert -1 <= batch['image'].min() and batch['image'].max() <= 1
    seen.append(batch)
  gms = _gm_names(seen)
  assert not gms & test_gms and len(gms) > 40 and '<real>' in gms
  labels = np.concatenate([b['label'] for b in seen])
  idx = np.concatenate([b['gm_index'] for b in seen])
  gen = idx >= 0
  np.testing.assert_array_equal(labels[gen], schema.label_table()[idx[gen]])
  assert not labels[~gen].any()


def test_real_fraction(synthetic_builder, tiny_build):
  def real_counts(r, steps=10):
    it = pipeline.train_iterator(synthetic_builder, 1, batch_size=20,
                                 image_size=32, real_fraction=r,
                                 process_index=0, process_count=1)
    return [int((next(it)['is_generated'] == 0).sum()) for _ in range(steps)]
  assert real_counts(0.0) == [0] * 10
  assert real_counts(0.5) == [10] * 10
  assert real_counts(0.25) == [5] * 10
  third = real_counts(0.33)        # 6.6 per batch: 66 in 10 batches.
  assert set(third) == {6, 7} and sum(third) == 66
  num_train = (len(folds.get_fold(1).train) * tiny_build['images_per_gm']
               + tiny_build['num_real'])
  natural = sum(real_counts(None, steps=num_train // 20)) / num_train
  assert abs(natural - tiny_build['num_real'] / num_train) <= 20 / num_train
  with pytest.raises(ValueError, match='real_fraction'):
    real_counts(1.5)


def test_resize_and_scale(synthetic_builder, read_records):
  (b32,) = list(pipeline.eval_dataset(synthetic_builder, 'set1_removed',
                                      batch_size=3, image_size=32,
                                      process_index=0, process_count=1)[0]
                .as_numpy_iterator())
  rec = read_records(synthetic_builder, 'set1_removed')
  import tensorflow as tf
  raw = np.stack([tf.io.decode_png(r['image']).numpy() for r in rec])
  order = lambda x: np.argsort(x.reshape(len(x), -1).sum(1))  # noqa: E731
  got = b32['image'][order(b32['image'])]
  np.testing.assert_allclose(got, (raw[order(raw)] / 255 - 0.5) / 0.5,
                             atol=1e-6)
  (b64,) = list(pipeline.eval_dataset(synthetic_builder, 'set1_removed',
                                      batch_size=3, image_size=64,
                                      process_index=0, process_count=1)[0]
                .as_numpy_iterator())
  assert b64['image'].shape == (3, 64, 64, 3)
  np.testing.assert_allclose(b64['image'].mean(axis=(1, 2)),
                             b32['image'].mean(axis=(1, 2)), atol=0.02)


@pytest.mark.parametrize('expr, hosts, mode', [
    ('set0+set2+real', 2, 'files'),      # 6 files over 2 hosts.
    ('set1', 3, 'examples'),             # 2 files < 3 hosts.
])
def test_hosts_read_disjoint_parts_covering_the_data(synthetic_builder, expr,
                                                     hosts, mode):
  def run(i, n):
    ds, plan = pipeline.eval_dataset(synthetic_builder, expr, batch_size=8 * n,
                                     image_size=32, process_index=i,
                                     process_count=n)
    return list(ds.as_numpy_iterator()), plan
  whole, _ = run(0, 1)
  all_ids = _ids(whole)
  assert len(all_ids) == len(set(all_ids)) == sum(
      synthetic_builder.info.splits[s].num_examples for s in expr.split('+'))
  parts = [run(i, hosts) for i in range(hosts)]
  ids = [_ids(batches) for batches, _ in parts]
  assert sum(len(x) for x in ids) == len(all_ids)
  assert set().union(*ids) == set(all_ids)
  lengths = {len(batches) for batches, _ in parts}
  assert len(lengths) == 1 and lengths == {parts[0][1].num_batches}
  for batches, plan in parts:
    masks = np.concatenate([b['mask'] for b in batches])
    assert masks.sum() == plan.num_examples
    assert (masks[:plan.num_examples] == 1).all()   # padding only at the end.
    pad = np.concatenate([b['gm_index'] for b in batches])[masks == 0]
    assert (pad == -1).all()
  files, lengths_ = pipeline.stream_files(synthetic_builder, expr)
  assert sharding.host_shard(files, lengths_, 0, hosts).mode == mode


def test_host_shard_logic():
  files = ['c', 'a', 'b', 'd', 'e']
  lengths = [3, 1, 2, 4, 5]
  parts = [sharding.host_shard(files, lengths, i, 2) for i in range(2)]
  assert parts[0].files == ('a', 'c', 'e') and parts[0].num_examples == 9
  assert parts[1].files == ('b', 'd') and parts[1].num_examples == 6
  assert sharding.eval_num_batches(files, lengths, 2, 4) == 3
  few = [sharding.host_shard(['a'], [7], i, 3) for i in range(3)]
  assert [p.num_examples for p in few] == [3, 2, 2]
  assert all(p.example_shard == (3, i) for i, p in enumerate(few))
  with pytest.raises(ValueError, match='multiple of the process count'):
    sharding.local_batch_size(10, 4)


def test_eval_iterator_detects_a_count_mismatch(synthetic_builder):
  ds, plan = pipeline.eval_dataset(synthetic_builder, 'set1', batch_size=16,
                                   image_size=32, process_index=0,
                                   process_count=1)
  wrong = pipeline.EvalPlan(plan.num_batches, plan.local_batch_size,
                            plan.num_examples + 1, plan.total_examples + 1)
  with pytest.raises(RuntimeError, match='metadata'):
    list(pipeline.EvalIterator(ds, wrong))
  assert len(list(pipeline.EvalIterator(ds, plan))) == plan.num_batches
