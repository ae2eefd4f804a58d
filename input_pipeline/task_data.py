"""tf.data streams for the classification tasks (detection, attribution).

Same TFRecords as model parsing, selected by GM and relabelled by a *class
table*: an int array of 141 entries indexed by ``gm_index + 1`` (entry 0 is
the real images), holding the class of that source or -1 to drop it
(``lgpn_jax/tasks/classification.py`` makes the tables from the GM names of the config).

Images of a source that is both trained and tested on (real images, and the
GMs of attribution) are split by a hash of the serialized record:
``holdout_percent`` of them (hash bucket < p of 100) are the test part, the
rest the train part, so the two parts never share an image and the split is
the same in every run. Sources marked ``False`` in ``split_by_hash`` (GMs
unseen in training) give all their images to the test part.

Batches are dicts of numpy arrays: image [B, H, W, 3] in [-1, 1],
class_label [B] int32, gm_index [B] int32 (-1 real / padding) and, for
evaluation, mask [B] float32 (0 for padding).
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np

from input_pipeline.tf_runtime import tf
from input_pipeline import pipeline, sharding, splits
from lgpn_jax.red140 import schema

AUTOTUNE = tf.data.AUTOTUNE
PARTS = ('train', 'test')


def needed_splits(builder, table: np.ndarray) -> str:
  """The split expression holding every source with a class (build order)."""
  names = {splits.split_of(None if i == 0 else schema.gms()[i - 1].name)
           for i in np.flatnonzero(np.asarray(table) >= 0)}
  have = [s for s in splits.all_splits()
          if s in names and s in builder.info.splits]
  if not have:
    raise ValueError(f'none of the splits {sorted(names)} the task needs is in '
                     f'this build (it has {sorted(builder.info.splits)})')
  return '+'.join(have)


def _selector(builder, table, split_by_hash, part: str,
              holdout_percent: int, image_size: int):
  """serialized -> (keep?, decoded example with class_label)."""
  if part not in PARTS:
    raise ValueError(f'part must be one of {PARTS}, got {part!r}')
  if not 0 < holdout_percent < 100:
    raise ValueError(f'holdout_percent must be in (0, 100), got '
                     f'{holdout_percent}')
  classes = tf.constant(np.asarray(table, np.int32))
  by_hash = tf.constant(np.asarray(split_by_hash, bool))
  decode = pipeline.make_decoder(builder, image_size)
  feats = builder.info.features

  def keep(serialized):
    ex = feats.deserialize_example(serialized, decoders={
        'image': pipeline.tfds.decode.SkipDecoding()})
    source = ex['gm_index'] + 1
    held_out = tf.strings.to_hash_bucket_fast(serialized, 100) < holdout_percent
    in_part = held_out if part == 'test' else tf.logical_not(held_out)
    return tf.logical_and(tf.gather(classes, source) >= 0,
                          tf.logical_or(tf.logical_not(
                              tf.gather(by_hash, source)), in_part))

  def to_example(serialized):
    ex = decode(serialized)
    return {'image': ex['image'], 'gm_index': ex['gm_index'],
            'class_label': tf.gather(classes, ex['gm_index'] + 1)}

  return keep, to_example


def train_dataset(builder, table: Sequence[int],
                  split_by_hash: Sequence[bool], *, batch_size: int,
                  image_size: int, holdout_percent: int = 20,
                  real_fraction: float | None = None, seed: int = 0,
                  shuffle_buffer: int = 10_000, deterministic: bool = True,
                  process_index: int | None = None,
                  process_count: int | None = None) -> tf.data.Dataset:
  """Infinite shuffled batches (this host's share) of the train part.

  ``real_fraction``: share of real images per batch in expectation (None:
  their natural share among the selected images).
  """
  builder = pipeline.open_builder(builder)
  pi, pc = pipeline._process(process_index, process_count)  # noqa: SLF001
  local = sharding.local_batch_size(batch_size, pc)
  keep, to_example = _selector(builder, table, split_by_hash, 'train',
                               holdout_percent, image_size)
  names = splits.parse_expr(needed_splits(builder, table))
  if real_fraction is None:      # one stream: the natural shares.
    groups = [('+'.join(names), False)]
  else:
    groups = [('+'.join(n for n in names if n != splits.REAL), False),
              (splits.REAL if splits.REAL in names else '', True)]
    groups = [(e, r) for e, r in groups if e]
  streams = []
  for expr, is_real in groups:
    files, lengths = pipeline.stream_files(builder, expr)
    shard = sharding.host_shard(files, lengths, pi, pc)
    probe = tf.data.TFRecordDataset(list(shard.files)).filter(keep).take(1)
    if not any(True for _ in probe):   # else the repeated filter never yields.
      raise ValueError(f'the task selects no training image in {expr!r} on '
                       f'process {pi} (check task_data GM names, '
                       'holdout_percent and the build)')
    ds = pipeline._records(shard, shuffle_files=True,  # noqa: SLF001
                           seed=seed + 7919 * pi, deterministic=deterministic,
                           repeat=True)
    ds = ds.filter(keep).shuffle(shuffle_buffer,
                                 seed=seed + 7919 * pi + int(is_real))
    streams.append((ds, is_real))
  if len(streams) == 1:
    ds = streams[0][0]
  else:
    ds = tf.data.Dataset.sample_from_datasets(
        [d for d, _ in streams],
        weights=[real_fraction if r else 1 - real_fraction
                 for _, r in streams], seed=seed + 7919 * pi + 2)
  ds = ds.map(to_example, num_parallel_calls=AUTOTUNE,
              deterministic=deterministic)
  ds = ds.batch(local, drop_remainder=True)
  return ds.prefetch(AUTOTUNE).with_options(
      pipeline._options(deterministic, None))  # noqa: SLF001


def train_iterator(builder, table, split_by_hash, **kwargs) -> Iterator[dict]:
  """Numpy batches of ``train_dataset``."""
  return train_dataset(builder, table, split_by_hash,
                       **kwargs).as_numpy_iterator()


def eval_batches(builder, table: Sequence[int], split_by_hash: Sequence[bool],
                 *, batch_size: int, image_size: int,
                 holdout_percent: int = 20) -> Iterator[dict]:
  """Every test-part image once, in a fixed order, in batches of
  ``batch_size`` (the last padded with ``mask = 0``). Reads every shard on
  this process (evaluation is not split over hosts)."""
  builder = pipeline.open_builder(builder)
  keep, to_example = _selector(builder, table, split_by_hash, 'test',
                               holdout_percent, image_size)
  files, _ = pipeline.stream_files(builder, needed_splits(builder, table))
  ds = tf.data.TFRecordDataset(files).filter(keep)
  ds = ds.map(to_example, num_parallel_calls=AUTOTUNE, deterministic=True)
  ds = ds.batch(batch_size).prefetch(AUTOTUNE)
  for batch in ds.as_numpy_iterator():
    n = len(batch['class_label'])
    batch['mask'] = np.ones(batch_size, np.float32)
    if n < batch_size:
      batch['mask'][n:] = 0
      for k in ('image', 'gm_index', 'class_label'):
        pad = np.zeros((batch_size - n,) + batch[k].shape[1:], batch[k].dtype)
        if k == 'gm_index':
          pad -= 1
        batch[k] = np.concatenate([batch[k], pad])
    yield batch
