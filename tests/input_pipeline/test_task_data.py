"""Detection / attribution streams: records selected by a class table, train
and test parts split by record hash, the training stream resumable."""

import numpy as np
import pytest

from input_pipeline import pipeline, task_data
from input_pipeline.tf_runtime import tf
from lgpn_jax.red140 import schema

GMS = ('PROG_GAN', 'SNGAN', 'STYLEGAN')     # classes 1..3, real = 0.
HOLDOUT = 40


def _table(by_hash_gms=GMS):
  table = np.full(141, -1, np.int32)
  by_hash = np.zeros(141, bool)
  table[0], by_hash[0] = 0, True
  for k, name in enumerate(GMS, 1):
    i = schema.gm_index()[name] + 1
    table[i], by_hash[i] = k, name in by_hash_gms
  return table, by_hash


def _records_by_source(builder, table):
  """{record bytes: (gm_index, hash bucket)} computed straight from tf."""
  files, _ = pipeline.stream_files(builder,
                                   task_data.needed_splits(builder, table))
  feats = builder.info.features
  out = {}
  for r in tf.data.TFRecordDataset(files):
    gm = int(feats.deserialize_example(r)['gm_index'])
    if table[gm + 1] >= 0:
      out[r.numpy()] = (gm, int(tf.strings.to_hash_bucket_fast(r, 100)))
  return out


@pytest.mark.parametrize('by_hash_gms', [GMS, GMS[:1]])
def test_parts_split_each_source_by_record_hash(synthetic_builder,
                                                by_hash_gms):
  table, by_hash = _table(by_hash_gms)
  sources = _records_by_source(synthetic_builder, table)
  parts = {}
  for part in task_data.PARTS:
    records, gen, real = task_data.part_records(synthetic_builder, table,
                                                by_hash, part, HOLDOUT)
    got = {}
    for rows, generated in ((gen, True), (real, False)):
      for r in pipeline.stream.records(records, rows):
        got[r.numpy()] = sources[r.numpy()]
        assert (got[r.numpy()][0] >= 0) == generated
    parts[part] = got
  assert parts['train'].keys() | parts['test'].keys() == sources.keys()
  for record, (gm, bucket) in sources.items():
    split = by_hash[gm + 1]    # else the whole source is in either part.
    assert (record in parts['test']) == (not split or bucket < HOLDOUT)
    assert (record in parts['train']) == (not split or bucket >= HOLDOUT)


def test_train_stream_resumes_exactly_with_class_labels(synthetic_builder):
  table, by_hash = _table()
  kw = dict(batch_size=8, image_size=32, holdout_percent=HOLDOUT,
            real_fraction=0.25, sampling='epochs', seed=3)
  it = task_data.train_iterator(synthetic_builder, table, by_hash,
                                process_index=0, process_count=1, **kw)
  whole = [next(it) for _ in range(12)]    # 3 GMs x 3 images: 2+ epochs.
  for b in whole:
    np.testing.assert_array_equal(b['class_label'], table[b['gm_index'] + 1])
    assert (b['gm_index'] < 0).sum() == 2
  halves = [next(task_data.train_iterator(
      synthetic_builder, table, by_hash, start_step=10, process_index=i,
      process_count=2, **kw)) for i in range(2)]
  for key in whole[10]:
    np.testing.assert_array_equal(
        np.concatenate([h[key] for h in halves]), whole[10][key])


def test_eval_batches_hold_the_test_part_once(synthetic_builder):
  table, by_hash = _table()
  sources = _records_by_source(synthetic_builder, table)
  tested = sum(1 for gm, bucket in sources.values() if bucket < HOLDOUT)
  batches = list(task_data.eval_batches(synthetic_builder, table, by_hash,
                                        batch_size=8, image_size=32,
                                        holdout_percent=HOLDOUT))
  assert sum(int(b['mask'].sum()) for b in batches) == tested
  assert len(batches) == -(-tested // 8)
  for b in batches:
    real = b['mask'] > 0
    np.testing.assert_array_equal(b['class_label'][real],
                                  table[b['gm_index'][real] + 1])
    assert (b['gm_index'][~real] == -1).all()
