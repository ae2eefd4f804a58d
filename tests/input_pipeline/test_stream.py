"""The training stream: resumed at any step on any host split, it yields
exactly the batches of an uninterrupted run (across the chain's pipeline
boundaries too); an epoch is the split."""

import gc
import hashlib
import weakref

import numpy as np
import pytest

from input_pipeline import pipeline
from lgpn_jax.red140 import folds

BATCH = 16
STEPS = 75        # fold 1 here: ~380 records, 24 steps an epoch at batch 16.


def _run(builder, start, count, host=(0, 1), **kw):
  it = pipeline.train_iterator(builder, 1, batch_size=BATCH, image_size=32,
                               start_step=start, process_index=host[0],
                               process_count=host[1], **kw)
  return [next(it) for _ in range(count)]


def _digests(batches, keys=('image', 'gm_index')):
  return [hashlib.sha1(b''.join(b[k][i].tobytes() for k in keys)).hexdigest()
          for b in batches for i in range(len(b['image']))]


@pytest.mark.parametrize('sampling, fraction', [('epochs', 0.25),
                                                ('with_replacement', None)])
def test_a_resumed_stream_is_the_uninterrupted_one(synthetic_builder,
                                                   sampling, fraction):
  kw = dict(real_fraction=fraction, sampling=sampling, seed=4)
  whole = _run(synthetic_builder, 0, STEPS, **kw)     # one pipeline.
  cut = STEPS - 8           # past 2 epochs of the generated pool, 9 of real.
  resumed = [_run(synthetic_builder, cut, 8, host=(i, 2), chunk_steps=3,
                  **kw) for i in range(2)]          # a chain of pipelines.
  for step in range(8):
    for key, value in whole[cut + step].items():
      halves = [resumed[i][step][key] for i in range(2)]
      np.testing.assert_array_equal(np.concatenate(halves), value,
                                    err_msg=f'{key} at step {cut + step}')
  assert _digests(_run(synthetic_builder, cut, 3, **dict(kw, seed=5))) != (
      _digests(whole[cut:]))


def test_an_epoch_is_every_training_record_once(synthetic_builder,
                                                tiny_build):
  train = list(pipeline.eval_iterator(synthetic_builder, 1, batch_size=64,
                                      split='train', image_size=32,
                                      process_index=0, process_count=1))
  split = sorted(_digests([{k: b[k][b['mask'] > 0] for k in b}
                           for b in train]))
  steps = -(-len(split) // BATCH)
  epoch = _digests(_run(synthetic_builder, 0, steps, seed=2))[:len(split)]
  assert sorted(epoch) == split
  assert epoch != sorted(epoch)
  assert len(split) == (len(folds.get_fold(1).train) * tiny_build[
      'images_per_gm'] + tiny_build['num_real'])


def test_a_dropped_stream_is_freed_at_once(synthetic_builder):
  """No reference cycle: dropping the iterator frees its tf.data pipeline
  (and stops its background threads) without waiting for the cycle
  collector."""
  it = pipeline.train_stream(synthetic_builder, 'set0+real', batch_size=8,
                             image_size=32, process_index=0, process_count=1)
  next(it)
  ref = weakref.ref(it)
  gc.disable()
  try:
    del it
    assert ref() is None
  finally:
    gc.enable()


@pytest.mark.parametrize('sampling', ['epochs', 'with_replacement'])
def test_streams_started_far_apart_agree(synthetic_builder, sampling):
  """Far into a run (past a block of 2^16 draws of the generated pool, 12 a
  batch, and hundreds of epochs): a stream started earlier on one host in
  short chunks and one started later on two hosts give the same batches."""
  kw = dict(real_fraction=0.25, sampling=sampling, seed=7)
  early = _run(synthetic_builder, 5459, 6, chunk_steps=4, **kw)
  late = [_run(synthetic_builder, 5462, 3, host=(i, 2), **kw)
          for i in range(2)]
  for step in range(3):
    for key, value in early[3 + step].items():
      np.testing.assert_array_equal(
          np.concatenate([late[i][step][key] for i in range(2)]), value)
