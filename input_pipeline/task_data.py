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

Each record's source (``gm_index``) and hash bucket are read once per build
(one pass over the records, no image decoded) and cached beside the shards
(``record_sources.npz``, ``record_index.per_record``), so both parts are
lists of records known before anything is streamed: the train part goes
through the same training stream as model parsing (``stream.py``: exact
resume at any step, 'epochs' or 'with_replacement' sampling), the test part
is read once in record order.

Batches are dicts of numpy arrays: image [B, H, W, 3] in [-1, 1],
class_label [B] int32, gm_index [B] int32 (-1 real / padding) and, for
evaluation, mask [B] float32 (0 for padding).
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np

from input_pipeline.tf_runtime import tf, tfds
from input_pipeline import pipeline, record_index, splits, stream
from lgpn_jax.red140 import schema

AUTOTUNE = tf.data.AUTOTUNE
PARTS = ('train', 'test')
SOURCES_CACHE = 'record_sources'
HASH_BUCKETS = 100


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


def record_sources(builder, path: str) -> dict[str, np.ndarray]:
  """{'gm_index', 'bucket'} of every record of one shard: its GM (-1 real)
  and its hash bucket of 100 (``tf.strings.to_hash_bucket_fast`` of the
  serialized record)."""
  feats = builder.info.features
  skip = {'image': tfds.decode.SkipDecoding()}

  def facts(serialized):
    ex = feats.deserialize_example(serialized, decoders=skip)
    return ex['gm_index'], tf.strings.to_hash_bucket_fast(serialized,
                                                          HASH_BUCKETS)

  gm, bucket = [], []
  for g, h in tf.data.TFRecordDataset(path).map(
      facts, num_parallel_calls=AUTOTUNE, deterministic=True).batch(
          4096).as_numpy_iterator():
    gm.append(g)
    bucket.append(h)
  return {'gm_index': np.concatenate(gm or [np.zeros(0)]).astype(np.int32),
          'bucket': np.concatenate(bucket or [np.zeros(0)]).astype(np.int8)}


def part_records(builder, table: Sequence[int], split_by_hash: Sequence[bool],
                 part: str, holdout_percent: int
                 ) -> tuple[record_index.RecordTable, np.ndarray, np.ndarray]:
  """(records of the task's splits, generated rows, real rows of ``part``)."""
  if part not in PARTS:
    raise ValueError(f'part must be one of {PARTS}, got {part!r}')
  if not 0 < holdout_percent < 100:
    raise ValueError(f'holdout_percent must be in (0, 100), got '
                     f'{holdout_percent}')
  classes = np.asarray(table, np.int32)
  by_hash = np.asarray(split_by_hash, bool)
  files, lengths = pipeline.stream_files(builder,
                                         needed_splits(builder, classes))
  records = record_index.RecordTable.of_files(files, lengths)
  facts = record_index.per_record(files, SOURCES_CACHE,
                                  lambda p: record_sources(builder, p))
  gm = np.concatenate([f['gm_index'] for f in facts])
  if len(gm) != len(records):
    raise record_index.DamagedShard(
        f'{SOURCES_CACHE}: {len(gm)} records, the shards hold '
        f'{len(records)}: a shard changed while it was read (run again)')
  held_out = np.concatenate([f['bucket'] for f in facts]) < holdout_percent
  in_part = held_out if part == 'test' else ~held_out
  keep = (classes[gm + 1] >= 0) & (~by_hash[gm + 1] | in_part)
  return (records, np.flatnonzero(keep & (gm >= 0)),
          np.flatnonzero(keep & (gm < 0)))


def _example_maker(builder, table, image_size: int):
  """serialized -> {image, gm_index, class_label}."""
  classes = tf.constant(np.asarray(table, np.int32))
  decode = pipeline.make_decoder(builder, image_size)

  def to_example(serialized):
    ex = decode(serialized)
    return {'image': ex['image'], 'gm_index': ex['gm_index'],
            'class_label': tf.gather(classes, ex['gm_index'] + 1)}

  return to_example


def train_iterator(builder, table: Sequence[int],
                   split_by_hash: Sequence[bool], *, batch_size: int,
                   image_size: int, holdout_percent: int = 20,
                   real_fraction: float | None = None,
                   sampling: str = 'epochs', seed: int = 0,
                   start_step: int = 0, process_index: int | None = None,
                   process_count: int | None = None) -> Iterator[dict]:
  """This host's numpy batches of global batches ``start_step``, ... of the
  train part (infinite; the stream of ``pipeline.train_stream``).

  ``real_fraction``: share of real images in every batch (None: their
  natural share among the selected images).
  """
  builder = pipeline.open_builder(builder)
  records, gen, real = part_records(builder, table, split_by_hash, 'train',
                                    holdout_percent)
  if not len(gen) + len(real):
    raise ValueError('the task selects no training image (check task_data '
                     'GM names, holdout_percent and the build)')
  return stream.train_batches(
      records, gen, real, _example_maker(builder, table, image_size),
      batch_size=batch_size, real_fraction=real_fraction, sampling=sampling,
      seed=seed, start_step=start_step, process_index=process_index,
      process_count=process_count)


def eval_batches(builder, table: Sequence[int], split_by_hash: Sequence[bool],
                 *, batch_size: int, image_size: int,
                 holdout_percent: int = 20) -> Iterator[dict]:
  """Every test-part image once, in record order, in batches of
  ``batch_size`` (the last padded with ``mask = 0``). Reads every shard on
  this process (evaluation is not split over hosts)."""
  builder = pipeline.open_builder(builder)
  records, gen, real = part_records(builder, table, split_by_hash, 'test',
                                    holdout_percent)
  ds = stream.records(records, np.sort(np.concatenate([gen, real])))
  ds = ds.map(_example_maker(builder, table, image_size),
              num_parallel_calls=AUTOTUNE, deterministic=True)
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
