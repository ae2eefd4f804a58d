"""This host's place among hosts, its batch share, and the eval shards it reads.

Pure Python (no TF; JAX only for the default process index and count) so it
is testable on its own. Training needs no file sharding: every host reads
its slice of every global batch (``stream.py``).

Eval files are dealt round-robin over hosts (``files[i::n]`` of the sorted list).
When a stream has fewer files than hosts, every host reads all of them and
keeps every n-th example instead (``example_shard = (n, i)``), so no host is
left empty; this is logged in ``HostShard.mode``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence


def processes(process_index: int | None = None,
              process_count: int | None = None) -> tuple[int, int]:
  """(process index, process count), by default JAX's; checked."""
  if process_index is None or process_count is None:
    import jax  # only for the defaults; the pipelines themselves need no JAX.
    process_index = jax.process_index() if process_index is None else process_index
    process_count = jax.process_count() if process_count is None else process_count
  process_index, process_count = int(process_index), int(process_count)
  if not 0 <= process_index < process_count:
    raise ValueError(f'process_index {process_index} not in '
                     f'[0, {process_count})')
  return process_index, process_count


@dataclasses.dataclass(frozen=True)
class HostShard:
  files: tuple[str, ...]
  num_examples: int                      # examples this host will read.
  example_shard: tuple[int, int] | None  # (count, index) for tf.data.shard.
  mode: str                              # 'files' or 'examples'.


def host_shard(files: Sequence[str], lengths: Sequence[int],
               process_index: int, process_count: int) -> HostShard:
  """This host's part of a stream of shard ``files`` with ``lengths`` examples."""
  if len(files) != len(lengths):
    raise ValueError('files and lengths differ in length')
  if not 0 <= process_index < process_count:
    raise ValueError(f'process_index {process_index} not in '
                     f'[0, {process_count})')
  order = sorted(range(len(files)), key=lambda k: files[k])
  files = [files[k] for k in order]
  lengths = [lengths[k] for k in order]
  if len(files) >= process_count:
    mine = slice(process_index, None, process_count)
    return HostShard(tuple(files[mine]), sum(lengths[mine]), None, 'files')
  total = sum(lengths)
  count = len(range(process_index, total, process_count))
  return HostShard(tuple(files), count, (process_count, process_index),
                   'examples')


def eval_num_batches(files: Sequence[str], lengths: Sequence[int],
                     process_count: int, local_batch_size: int) -> int:
  """Batches every host yields so that the largest host part fits, padded."""
  most = max(host_shard(files, lengths, i, process_count).num_examples
             for i in range(process_count))
  return max(1, math.ceil(most / local_batch_size))


def local_batch_size(global_batch_size: int, process_count: int) -> int:
  if global_batch_size < 1 or global_batch_size % process_count:
    raise ValueError(f'batch_size {global_batch_size} must be a positive '
                     f'multiple of the process count {process_count}')
  return global_batch_size // process_count
