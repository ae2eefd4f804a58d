"""tf.data pipelines over the built TFRecords: training and exact evaluation.

Train (``train_dataset`` / ``train_iterator``): this host's shard files are
shuffled, repeated and interleaved; serialized records are shuffled; the
generated and real streams are mixed at ``real_fraction``; images are decoded
in parallel, resized to ``image_size`` and scaled to [-1, 1]
((x / 255 - 0.5) / 0.5); batches of ``batch_size // process_count`` are made
with ``drop_remainder`` and prefetched. Infinite.

Eval (``eval_dataset`` / ``eval_iterator``): deterministic order, every example
exactly once over all hosts, padded with ``mask = 0`` examples so that every
host yields the same number of batches (no host hangs in a collective, no
example dropped or counted twice).

Batches are dicts of numpy arrays:
  image [B, H, W, 3] float32 in [-1, 1]   label [B, 55] float32
  is_generated [B] int32                  gm_index [B] int32 (-1 real/pad)
  continuous [B, 9] float32 (raw values)  continuous_mask [B, 9] float32
  test_set [B] int32                      mask [B] float32 (eval only)
"""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import Iterator


from input_pipeline.tf_runtime import tf, tfds
from input_pipeline import image_files, sharding, splits
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


def _process(process_index, process_count) -> tuple[int, int]:
  if process_index is None or process_count is None:
    import jax  # only for the defaults; the pipeline itself needs no JAX.
    process_index = jax.process_index() if process_index is None else process_index
    process_count = jax.process_count() if process_count is None else process_count
  return int(process_index), int(process_count)


def decode_image(data: tf.Tensor, image_size: int) -> tf.Tensor:
  """Encoded PNG/JPEG -> [S, S, 3] float32 in [-1, 1].

  Bilinear resize with antialiasing (as PIL-based resizing does), skipped
  when the image already has the size, so generation traces are untouched.
  """
  img = tf.io.decode_image(data, channels=3, expand_animations=False)
  shape = tf.shape(img)
  img = tf.cast(img, tf.float32)
  same = tf.logical_and(shape[0] == image_size, shape[1] == image_size)
  img = tf.cond(same, lambda: img, lambda: tf.image.resize(
      img, [image_size, image_size], method='bilinear', antialias=True))
  img = tf.ensure_shape(img, [image_size, image_size, 3])
  return image_files.to_model_range(img)


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


def _records(shard: sharding.HostShard, *, shuffle_files: bool, seed: int,
             deterministic: bool, repeat: bool) -> tf.data.Dataset:
  files = tf.data.Dataset.from_tensor_slices(list(shard.files))
  if shard.example_shard is None and shuffle_files:
    files = files.shuffle(len(shard.files), seed=seed,
                          reshuffle_each_iteration=True)
  if repeat and shard.example_shard is None:
    files = files.repeat()
  ds = files.interleave(
      tf.data.TFRecordDataset, cycle_length=max(1, min(16, len(shard.files))),
      block_length=1, num_parallel_calls=AUTOTUNE,
      deterministic=deterministic or shard.example_shard is not None)
  if shard.example_shard is not None:
    ds = ds.shard(*shard.example_shard)
    if repeat:
      ds = ds.repeat()
  return ds


def _options(deterministic: bool, threads: int | None) -> tf.data.Options:
  opts = tf.data.Options()
  opts.deterministic = deterministic
  if threads:
    opts.threading.private_threadpool_size = threads
    opts.threading.max_intra_op_parallelism = 1
  return opts


def train_dataset(builder, split_expr: str, *, batch_size: int,
                  image_size: int = 256, real_fraction: float | None = None,
                  shuffle_buffer: int = 10_000, seed: int = 0,
                  process_index: int | None = None,
                  process_count: int | None = None,
                  deterministic: bool = False,
                  threads: int | None = None) -> tf.data.Dataset:
  """Infinite shuffled batches of ``batch_size // process_count`` examples.

  ``real_fraction``: share of real images per batch in expectation (None:
  their natural share of the split; 0: none). ``deterministic`` fixes the
  order for a given seed (slower); ``threads`` caps tf.data's thread pool.
  """
  builder = open_builder(builder)
  pi, pc = _process(process_index, process_count)
  local = sharding.local_batch_size(batch_size, pc)
  names = splits.parse_expr(split_expr)
  gen_expr = '+'.join(n for n in names if n != splits.REAL)
  streams, weights = [], []
  for expr, is_real in ((gen_expr, False),
                        (splits.REAL if splits.REAL in names else '', True)):
    if not expr:
      continue
    files, lengths = stream_files(builder, expr)
    shard = sharding.host_shard(files, lengths, pi, pc)
    if shard.mode == 'examples':
      logging.info('%s: %d files < %d hosts: sharding by example', expr,
                   len(files), pc)
    ds = _records(shard, shuffle_files=True, seed=seed + 7919 * pi,
                  deterministic=deterministic, repeat=True)
    ds = ds.shuffle(shuffle_buffer, seed=seed + 7919 * pi + int(is_real))
    streams.append((ds, is_real, shard.num_examples))
  if real_fraction is not None:
    if not 0 <= real_fraction <= 1:
      raise ValueError(f'real_fraction must be in [0, 1], got {real_fraction}')
    if real_fraction > 0 and not any(r for _, r, _ in streams):
      raise ValueError(f'real_fraction={real_fraction} but {split_expr!r} has '
                       'no real split')
    weights = [real_fraction if r else 1 - real_fraction for _, r, _ in streams]
  else:
    weights = [float(n) for _, _, n in streams]
  kept = [(ds, w) for (ds, _, _), w in zip(streams, weights) if w > 0]
  if not kept:
    raise ValueError(f'nothing to train on in {split_expr!r} with '
                     f'real_fraction={real_fraction}')
  if len(kept) == 1:
    ds = kept[0][0]
  else:
    total = sum(w for _, w in kept)
    ds = tf.data.Dataset.sample_from_datasets(
        [d for d, _ in kept], weights=[w / total for _, w in kept],
        seed=seed + 7919 * pi + 2)
  ds = ds.map(make_decoder(builder, image_size), num_parallel_calls=AUTOTUNE,
              deterministic=deterministic)
  ds = ds.batch(local, drop_remainder=True, num_parallel_calls=AUTOTUNE,
                deterministic=deterministic)
  return ds.prefetch(AUTOTUNE).with_options(_options(deterministic, threads))


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
  pi, pc = _process(process_index, process_count)
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
  pi, pc = _process(process_index, process_count)
  plan = eval_plan(builder, split_expr, batch_size=batch_size,
                   process_index=pi, process_count=pc)
  files, lengths = stream_files(builder, split_expr)
  shard = sharding.host_shard(files, lengths, pi, pc)
  decode = make_decoder(builder, image_size)

  def with_mask(serialized):
    ex = decode(serialized)
    ex['mask'] = tf.constant(1.0, tf.float32)
    return ex

  ds = _records(shard, shuffle_files=False, seed=0, deterministic=True,
                repeat=False)
  ds = ds.map(with_mask, num_parallel_calls=AUTOTUNE, deterministic=True)
  pad = plan.num_batches * plan.local_batch_size - plan.num_examples
  ds = ds.concatenate(tf.data.Dataset.from_tensors(_padding(image_size))
                      .repeat(pad))
  ds = ds.batch(plan.local_batch_size, drop_remainder=True)
  return ds.prefetch(AUTOTUNE).with_options(_options(True, threads)), plan


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
  """Infinite numpy batches of a fold's training split (see train_dataset)."""
  builder = open_builder(builder)
  train, _ = splits.fold_splits(fold, protocol, builder.info.splits.keys())
  return train_dataset(builder, train, batch_size=batch_size,
                       **kwargs).as_numpy_iterator()


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
