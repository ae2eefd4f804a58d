"""The training stream: record ids from ``index_stream``, record bytes read
by offset (``record_index``), parallel decode in a fixed order, batches.

For global batch s (s = the trainer's step) every host computes the
``batch_size`` record ids of the whole global batch (microseconds), keeps
its slice ``[i * L, (i + 1) * L)`` (host i of n, L = batch_size / n), reads
those records from the shards (one ``pread`` each, in a tf.data generator),
decodes them in parallel with tf.data's deterministic ordering and batches
them. Nothing is shuffled by tf.data: the order is the index stream's, so
batch s is the same bytes whatever the number of hosts, threads or the step
the stream started at. Starting at step p only means starting the index
stream at p: nothing is read or decoded for the steps before.

Why not tf.data's own shuffle and a checkpointed iterator: its state holds
the shuffle buffer (thousands of serialized images per host) and is tied to
the host count and TensorFlow version; the index stream needs no state but
(seed, step). Why TFRecord rather than TFDS's array_record: see docs/DATA.md.
"""

from __future__ import annotations

import itertools
from typing import Callable

import numpy as np

from input_pipeline.tf_runtime import tf
from input_pipeline import index_stream, record_index, sharding

AUTOTUNE = tf.data.AUTOTUNE


def options(threads: int | None = None) -> tf.data.Options:
  """Deterministic tf.data options; ``threads`` caps its thread pool."""
  opts = tf.data.Options()
  opts.deterministic = True
  if threads:
    opts.threading.private_threadpool_size = threads
    opts.threading.max_intra_op_parallelism = 1
  return opts


def serialized_batches(table: record_index.RecordTable,
                       generated: np.ndarray, real: np.ndarray, *,
                       batch_size: int, real_fraction: float | None,
                       sampling: str, seed: int, start_step: int,
                       process_index: int, process_count: int
                       ) -> tf.data.Dataset:
  """[L] serialized records per element: this host's slice of global
  batches ``start_step, start_step + 1, ...`` (infinite).

  ``generated`` / ``real``: the rows of ``table`` that make each pool.
  """
  local = sharding.local_batch_size(batch_size, process_count)
  if start_step < 0:
    raise ValueError(f'start_step must be >= 0, got {start_step}')
  rows = np.concatenate([np.asarray(generated, np.int64),
                         np.asarray(real, np.int64)])
  ids = index_stream.IndexStream(len(generated), len(real), batch_size,
                                 real_fraction=real_fraction,
                                 sampling=sampling, seed=seed)
  lo = process_index * local

  def records():
    reader = record_index.RecordReader(table)
    try:
      for step in itertools.count(start_step):
        mine = rows[ids.batch(step)[lo:lo + local]]
        yield np.array(reader.read(mine), dtype=object)
    finally:
      reader.close()

  return tf.data.Dataset.from_generator(
      records, output_signature=tf.TensorSpec([local], tf.string))


def records_in_order(table: record_index.RecordTable, rows: np.ndarray,
                     chunk: int = 256) -> tf.data.Dataset:
  """The serialized records ``rows`` of ``table``, once, in that order."""
  rows = np.asarray(rows, np.int64)

  def records():
    reader = record_index.RecordReader(table)
    try:
      for a in range(0, len(rows), chunk):
        yield np.array(reader.read(rows[a:a + chunk]), dtype=object)
    finally:
      reader.close()

  return tf.data.Dataset.from_generator(
      records, output_signature=tf.TensorSpec([None], tf.string)).unbatch()


def train_batches(serialized: tf.data.Dataset,
                  to_example: Callable[[tf.Tensor], dict], *,
                  threads: int | None = None) -> tf.data.Dataset:
  """Decodes ``serialized_batches`` in parallel (order kept) into batches
  of the same size, prefetched."""
  local = serialized.element_spec.shape[0]
  ds = serialized.unbatch().map(to_example, num_parallel_calls=AUTOTUNE,
                                deterministic=True)
  ds = ds.batch(local, drop_remainder=True)
  return ds.prefetch(AUTOTUNE).with_options(options(threads))
