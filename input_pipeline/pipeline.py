"""tf.data pipelines over the built TFRecords: training and exact evaluation.

Train (``train_stream`` / ``train_iterator``): the stream of ``stream.py``
over the generated and real records of the splits: the record at every
position is a pure function of (seed, position) (``index_stream``), read by
byte offset (``record_index``), decoded in parallel in a fixed order, resized
to ``image_size`` and scaled to [-1, 1] ((x / 255 - 0.5) / 0.5), in batches
of ``batch_size // process_count`` (this host's slice of each global batch),
prefetched. Infinite; ``start_step`` starts it at any global batch in O(1).

Eval (``eval_dataset`` / ``eval_iterator``): deterministic order, every example
exactly once over all hosts, padded with ``mask = 0`` examples so that every
host yields the same number of batches (no host hangs in a collective, no
example dropped or counted twice). It reads each host's shard files in
order (``sharding.host_shard``).

Batches are dicts of numpy arrays:
  image [B, H, W, 3] float32 in [-1, 1]   label [B, 55] float32
  is_generated [B] int32                  gm_index [B] int32 (-1 real/pad)
  continuous [B, 9] float32 (raw values)  continuous_mask [B, 9] float32
  test_set [B] int32                      mask [B] float32 (eval only)
"""

from __future__ import annotations

import dataclasses
import os
from typing import Iterator

import numpy as np

from input_pipeline.tf_runtime import tf, tfds
from input_pipeline import (image_files, record_index, resize, sharding,
                            splits, stream)
from lgpn_jax.red140 import schema

AUTOTUNE = tf.data.AUTOTUNE
NUMERIC_KEYS = ('label', 'is_generated', 'gm_index', 'continuous',
                'continuous_mask', 'test_set')


def open_builder(builder_or_dir) -> tfds.core.DatasetBuilder:
  """A prepared builder, or the directory of one (``.../<name>/<config>/1.0.0``)."""
  if isinstance(builder_or_dir, tfds.core.DatasetBuilder):
    b = builder_or_dir
  else:
    path = os.fspath(builder_or_dir)
    if not os.path.exists(os.path.join(path, 'dataset_info.json')):
      raise FileNotFoundError(
          f'{path} holds no built data set (no dataset_info.json); build one '
          'with python -m input_pipeline.build')
    b = tfds.builder_from_directory(path)
  if not os.path.exists(os.path.join(os.fspath(b.data_dir),
                                     'dataset_info.json')):
    raise FileNotFoundError(f'{b.name} is not built in {b.data_dir}')
  return b


def stream_files(builder, split_expr: str) -> tuple[list[str], list[int]]:
  """(shard paths, examples per shard) of the whole splits of ``split_expr``."""
  names = splits.parse_expr(split_expr)
  missing = [n for n in names if n not in builder.info.splits]
  if missing:
    raise ValueError(f'splits {missing} are not in this build (it has '
                     f'{sorted(builder.info.splits)}); pass available= to '
                     'splits.fold_splits')
  files, lengths = [], []
  for n in names:
    info = builder.info.splits[n]
    files += [os.fspath(p) for p in info.filepaths]
    lengths += [int(k) for k in info.shard_lengths]
  return files, lengths


def decode_image(data: tf.Tensor, image_size: int) -> tf.Tensor:
  """Encoded PNG/JPEG -> [S, S, 3] float32 in [-1, 1].

  ``resize.to_square``: the data layer's one resize (bilinear with
  antialiasing, rounded to 8 bits as PIL-based resizing is), skipped when
  the image already has the size, so generation traces are untouched and a
  build stored at ``image_size`` gives exactly these pixels.
  """
  img = resize.to_square(resize.decode(data), image_size)
  img = tf.ensure_shape(img, [image_size, image_size, 3])
  return image_files.to_model_range(tf.cast(img, tf.float32))


def make_decoder(builder, image_size: int):
  """serialized record -> dict of tensors (image resized, scaled to [-1, 1])."""
  feats = builder.info.features
  skip = {'image': tfds.decode.SkipDecoding()}

  def decode(serialized):
    ex = feats.deserialize_example(serialized, decoders=skip)
    out = {'image': decode_image(ex['image'], image_size)}
    for k in NUMERIC_KEYS:
      out[k] = ex[k]
    out['continuous'] = tf.cast(out['continuous'], tf.float32)
    return out

  return decode


def _records(shard: sharding.HostShard) -> tf.data.Dataset:
  """This host's serialized records of an eval stream, in a fixed order."""
  ds = tf.data.Dataset.from_tensor_slices(list(shard.files)).interleave(
      tf.data.TFRecordDataset, cycle_length=max(1, min(16, len(shard.files))),
      block_length=1, num_parallel_calls=AUTOTUNE, deterministic=True)
  return ds if shard.example_shard is None else ds.shard(*shard.example_shard)


def training_records(builder, split_expr: str
                     ) -> tuple[record_index.RecordTable, np.ndarray,
                                np.ndarray]:
  """(table, generated rows, real rows) of the records of ``split_expr``:
  the generated splits' records first, then the real split's."""
  names = splits.parse_expr(split_expr)
  gen = '+'.join(n for n in names if n != splits.REAL)
  gen_files, gen_counts = stream_files(builder, gen) if gen else ([], [])
  real_files, real_counts = (stream_files(builder, splits.REAL)
                             if splits.REAL in names else ([], []))
  table = record_index.RecordTable.of_files(gen_files + real_files,
                                            gen_counts + real_counts)
  num_gen = sum(gen_counts)
  return table, np.arange(num_gen), np.arange(num_gen, len(table))


def train_stream(builder, split_expr: str, *, batch_size: int,
                 image_size: int = 256, real_fraction: float | None = None,
                 sampling: str = 'epochs', seed: int = 0, start_step: int = 0,
                 process_index: int | None = None,
                 process_count: int | None = None, threads: int | None = None,
                 chunk_steps: int = stream.CHUNK_STEPS) -> Iterator[dict]:
  """This host's numpy batches of global batches ``start_step``, ... of
  ``split_expr`` (infinite).

  ``real_fraction``: share of real images in every batch (None: their
  natural share of the split; 0: none); ``sampling``: 'epochs' (each record
  once per epoch) or 'with_replacement' (see ``index_stream``).
  ``threads`` caps tf.data's thread pool.
  """
  builder = open_builder(builder)
  table, gen, real = training_records(builder, split_expr)
  return stream.train_batches(
      table, gen, real, make_decoder(builder, image_size),
      batch_size=batch_size, real_fraction=real_fraction, sampling=sampling,
      seed=seed, start_step=start_step, process_index=process_index,
      process_count=process_count, threads=threads, chunk_steps=chunk_steps)


@dataclasses.dataclass(frozen=True)
class EvalPlan:
  num_batches: int         # batches every host yields.
  local_batch_size: int
  num_examples: int        # real examples on this host.
  total_examples: int      # real examples over all hosts.


def eval_plan(builder, split_expr: str, *, batch_size: int,
              process_index: int | None = None,
              process_count: int | None = None) -> EvalPlan:
  builder = open_builder(builder)
  pi, pc = sharding.processes(process_index, process_count)
  local = sharding.local_batch_size(batch_size, pc)
  files, lengths = stream_files(builder, split_expr)
  shard = sharding.host_shard(files, lengths, pi, pc)
  return EvalPlan(sharding.eval_num_batches(files, lengths, pc, local), local,
                  shard.num_examples, sum(lengths))


def _padding(image_size: int) -> dict:
  return {'image': tf.zeros([image_size, image_size, 3], tf.float32),
          'label': tf.zeros([schema.NUM_NODES], tf.float32),
          'is_generated': tf.constant(0, tf.int32),
          'gm_index': tf.constant(-1, tf.int32),
          'continuous': tf.zeros([len(schema.CONTINUOUS_COLUMNS)], tf.float32),
          'continuous_mask': tf.zeros([len(schema.CONTINUOUS_COLUMNS)],
                                      tf.float32),
          'test_set': tf.constant(0, tf.int32),
          'mask': tf.constant(0.0, tf.float32)}


def eval_dataset(builder, split_expr: str, *, batch_size: int,
                 image_size: int = 256, process_index: int | None = None,
                 process_count: int | None = None,
                 threads: int | None = None
                 ) -> tuple[tf.data.Dataset, EvalPlan]:
  """Finite padded eval batches (same count on every host) and their plan."""
  builder = open_builder(builder)
  pi, pc = sharding.processes(process_index, process_count)
  plan = eval_plan(builder, split_expr, batch_size=batch_size,
                   process_index=pi, process_count=pc)
  files, lengths = stream_files(builder, split_expr)
  shard = sharding.host_shard(files, lengths, pi, pc)
  decode = make_decoder(builder, image_size)

  def with_mask(serialized):
    ex = decode(serialized)
    ex['mask'] = tf.constant(1.0, tf.float32)
    return ex

  ds = _records(shard)
  ds = ds.map(with_mask, num_parallel_calls=AUTOTUNE, deterministic=True)
  pad = plan.num_batches * plan.local_batch_size - plan.num_examples
  ds = ds.concatenate(tf.data.Dataset.from_tensors(_padding(image_size))
                      .repeat(pad))
  ds = ds.batch(plan.local_batch_size, drop_remainder=True)
  return ds.prefetch(AUTOTUNE).with_options(stream.options(threads)), plan


class EvalIterator:
  """Iterates a padded eval stream as numpy batches and checks its counts.

  ``len()`` is the number of batches (equal on every host). Raises
  RuntimeError at the end if the real examples seen differ from the metadata.
  """

  def __init__(self, ds: tf.data.Dataset, plan: EvalPlan):
    self.plan = plan
    self._ds = ds

  def __len__(self) -> int:
    return self.plan.num_batches

  def __iter__(self) -> Iterator[dict]:
    seen = batches = 0
    for batch in self._ds.as_numpy_iterator():
      seen += int(batch['mask'].sum())
      batches += 1
      yield batch
    if seen != self.plan.num_examples or batches != self.plan.num_batches:
      raise RuntimeError(
          f'eval stream gave {seen} examples in {batches} batches, metadata '
          f'says {self.plan.num_examples} in {self.plan.num_batches}: the '
          'shards do not match dataset_info.json (rebuild the data set)')


def train_iterator(builder, fold: int, protocol: str = 'paper', *,
                   batch_size: int, **kwargs) -> Iterator[dict]:
  """Infinite numpy batches of a fold's training split (see train_stream)."""
  builder = open_builder(builder)
  train, _ = splits.fold_splits(fold, protocol, builder.info.splits.keys())
  return train_stream(builder, train, batch_size=batch_size, **kwargs)


def eval_iterator(builder, fold: int, protocol: str = 'paper', *,
                  batch_size: int, split: str = 'test',
                  **kwargs) -> EvalIterator:
  """Padded numpy batches of a fold's 'test' (unseen GMs) or 'train' split."""
  builder = open_builder(builder)
  train, test = splits.fold_splits(fold, protocol, builder.info.splits.keys())
  if split not in ('test', 'train'):
    raise ValueError(f"split must be 'test' or 'train', got {split!r}")
  ds, plan = eval_dataset(builder, test if split == 'test' else train,
                          batch_size=batch_size, **kwargs)
  return EvalIterator(ds, plan)
