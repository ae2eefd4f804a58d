"""The training stream: record ids from ``index_stream``, each record read by
byte offset from its shard, parallel decode in a fixed order, batches.

For global batch s (s = the trainer's step) every host computes the
``batch_size`` record ids of the whole global batch (microseconds), keeps
its slice ``[i * L, (i + 1) * L)`` (host i of n, L = batch_size / n), reads
and decodes those records in parallel with tf.data's deterministic ordering
and batches them. Nothing is shuffled by tf.data: the order is the index
stream's, so batch s is the same bytes whatever the number of hosts, threads
or the step the stream started at. Starting at step p only means starting
the index stream at p: nothing is read or decoded for the steps before.

Reading: ``tf.raw_ops.TFRecordDatasetV2`` with ``byte_offsets`` reads one
record at a known offset (TensorFlow's TFRecord reader: both CRCs checked),
inside the same parallel map that decodes it (one stage: cheaper than an
interleave of readers followed by a map). No Python runs inside tf.data: a
Python generator there holds the GIL against the training loop, and
tf.data's threads calling Python while the interpreter exits can hang the
process. So record ids enter as tensors: the stream is a chain of tf.data
pipelines of ``chunk_steps`` steps each; the next chunk's pipeline is built
while the current one streams, leaving one pipeline warm-up (about one
batch of decode latency) per chunk.

Why not tf.data's own shuffle and a checkpointed iterator: its state holds
the shuffle buffer (thousands of serialized images per host) and is tied to
the host count and TensorFlow version; the index stream needs no state but
(seed, step). Why TFRecord rather than TFDS's array_record: docs/DATA.md.
"""

from __future__ import annotations

import itertools
from typing import Callable, Iterator

import numpy as np

from input_pipeline.tf_runtime import tf
from input_pipeline import index_stream, record_index, sharding

AUTOTUNE = tf.data.AUTOTUNE
CHUNK_STEPS = 1024     # steps per tf.data pipeline of the chain.


def options(threads: int | None = None) -> tf.data.Options:
  """Deterministic tf.data options; ``threads`` caps its thread pool."""
  opts = tf.data.Options()
  opts.deterministic = True
  if threads:
    opts.threading.private_threadpool_size = threads
    opts.threading.max_intra_op_parallelism = 1
  return opts


def _reader(table: record_index.RecordTable):
  """(file index, record start) -> the serialized record there."""
  paths = tf.constant(list(table.paths))

  def read(file, start):
    found = tf.raw_ops.TFRecordDatasetV2(
        filenames=tf.reshape(tf.gather(paths, file), [1]),
        compression_type='', buffer_size=0,
        byte_offsets=tf.reshape(start, [1]))
    return tf.data.experimental.from_variant(
        found, tf.TensorSpec([], tf.string)).take(1).get_single_element()

  return read


def _places(table: record_index.RecordTable,
            rows: np.ndarray) -> tf.data.Dataset:
  rows = np.asarray(rows, np.int64)
  return tf.data.Dataset.from_tensor_slices(
      (table.file[rows], table.offset[rows] - record_index.HEADER))


def records(table: record_index.RecordTable,
            rows: np.ndarray) -> tf.data.Dataset:
  """The serialized records ``rows`` of ``table``, in that order."""
  return _places(table, rows).map(_reader(table), num_parallel_calls=AUTOTUNE,
                                  deterministic=True)


class _Chunks:
  """The tf.data pipelines of a stream, ``chunk_steps`` steps each."""

  def __init__(self, table, generated, real, to_example, *, batch_size,
               real_fraction, sampling, seed, process_index, process_count,
               threads, chunk_steps):
    pi, pc = sharding.processes(process_index, process_count)
    self.local = sharding.local_batch_size(batch_size, pc)
    self.steps = chunk_steps
    self._lo = pi * self.local
    self._rows = np.concatenate([np.asarray(generated, np.int64),
                                 np.asarray(real, np.int64)])
    self._ids = index_stream.IndexStream(
        len(generated), len(real), batch_size, real_fraction=real_fraction,
        sampling=sampling, seed=seed)
    self._table, self._to_example, self._threads = table, to_example, threads

  def _host_rows(self, step: int) -> np.ndarray:
    """The table rows of this host's slice of global batch ``step``."""
    return self._rows[self._ids.batch(step)[self._lo:self._lo + self.local]]

  def pipeline(self, first: int) -> tf.data.Dataset:
    """Batches of steps ``first .. first + steps - 1``."""
    rows = np.concatenate([self._host_rows(s)
                           for s in range(first, first + self.steps)])
    read, decode = _reader(self._table), self._to_example
    ds = _places(self._table, rows).map(
        lambda file, start: decode(read(file, start)),
        num_parallel_calls=AUTOTUNE, deterministic=True)
    ds = ds.batch(self.local, drop_remainder=True)
    return ds.prefetch(AUTOTUNE).with_options(options(self._threads))


def _chain(chunks: _Chunks, start: int) -> Iterator[dict]:
  following = chunks.pipeline(start)
  for first in itertools.count(start, chunks.steps):
    current, following = following, None
    for batch in current.as_numpy_iterator():
      yield batch
      if following is None:   # built while the current one streams.
        following = chunks.pipeline(first + chunks.steps)


def train_batches(table: record_index.RecordTable, generated: np.ndarray,
                  real: np.ndarray, to_example: Callable[[tf.Tensor], dict],
                  *, batch_size: int, real_fraction: float | None,
                  sampling: str, seed: int, start_step: int = 0,
                  process_index: int | None = None,
                  process_count: int | None = None,
                  threads: int | None = None,
                  chunk_steps: int = CHUNK_STEPS) -> Iterator[dict]:
  """This host's numpy batches of global batches ``start_step``,
  ``start_step + 1``, ... (infinite). ``generated`` / ``real``: the rows of
  ``table`` that make each pool; ``to_example``: serialized record -> dict
  of tensors; ``process_index`` / ``process_count``: JAX's by default.
  Settings are checked here, before the first batch is asked for; dropping
  the iterator stops its pipeline at once (nothing refers back to it)."""
  if start_step < 0:
    raise ValueError(f'start_step must be >= 0, got {start_step}')
  return _chain(_Chunks(
      table, generated, real, to_example, batch_size=batch_size,
      real_fraction=real_fraction, sampling=sampling, seed=seed,
      process_index=process_index, process_count=process_count,
      threads=threads, chunk_steps=chunk_steps), start_step)
