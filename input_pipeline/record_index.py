"""Random access to TFRecord shards: where every record's bytes are.

A TFRecord file (what ``tf.io.TFRecordWriter`` and every TFDS build write) is
a sequence of records, each

    uint64 length (little-endian) | uint32 masked CRC-32C of the length |
    ``length`` bytes of data      | uint32 masked CRC-32C of the data

``scan`` walks the length fields only (8 bytes read per record, the data is
skipped): for RED140's ~150,000 records about 1 MB, 0.35 s from the page
cache on our 2-core machine (a cold disk pays one random read per record,
once per build). It checks
that the chain of lengths ends exactly at the end of the file and that the
record count is the one ``dataset_info.json`` records: a truncated or
damaged shard is an error naming the file, never a silently shorter stream.
The CRCs are checked when a record is read (TensorFlow's TFRecord reader),
not here (the standard library has no CRC-32C).

``offsets`` caches the scan in ``record_index.npz`` beside the shards (one
file per build directory, written atomically, keyed by each shard's name,
size and modification time, so a changed shard is scanned again; other
per-record facts are cached the same way by ``per_record``). A read-only
directory is scanned on every start instead (logged).

``RecordTable`` is a list of records (file, data offset, data length) in a
fixed order; ``stream.records`` reads them. The scan reads local files only
(copy a remote build to a local disk). Pure Python and numpy: no TensorFlow,
testable alone.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import struct
import time
from typing import Callable, Sequence

import numpy as np

from lgpn_jax import files as files_lib

HEADER = 12      # uint64 length + uint32 CRC of the length.
FOOTER = 4       # uint32 CRC of the data.
CACHE_NAME = 'record_index'


class DamagedShard(ValueError):
  """A shard whose records do not chain to its end or whose count is wrong."""


def scan(path: str) -> tuple[np.ndarray, np.ndarray]:
  """(data offsets, data lengths) of every record of one TFRecord file."""
  offsets, lengths = [], []
  fd = os.open(path, os.O_RDONLY)
  try:
    size = os.fstat(fd).st_size
    pos = 0
    while pos < size:
      head = os.pread(fd, 8, pos)
      if len(head) < 8:
        break
      (n,) = struct.unpack('<Q', head)
      if pos + HEADER + n + FOOTER > size:
        break
      offsets.append(pos + HEADER)
      lengths.append(n)
      pos += HEADER + n + FOOTER
  finally:
    os.close(fd)
  if pos != size:
    raise DamagedShard(
        f'{path}: the record at byte {pos} runs past the end of the file '
        f'({size} bytes): the shard is truncated or damaged (rebuild it)')
  return np.asarray(offsets, np.int64), np.asarray(lengths, np.int64)


def _stamp(path: str) -> tuple[int, int]:
  st = os.stat(path)
  return st.st_size, st.st_mtime_ns


def _load_cache(path: str) -> dict[str, tuple]:
  """{file name: ((size, mtime), {field: values})} of a cache file, or {}."""
  try:
    with np.load(path, allow_pickle=False) as z:
      arrays = {k: z[k] for k in z.files}
    names, stamps, counts = (arrays.pop(k) for k in ('names', 'stamps',
                                                     'counts'))
  except (OSError, KeyError, ValueError):
    return {}
  ends = np.cumsum(counts)
  return {str(n): (tuple(int(x) for x in st),
                   {k: v[a - c:a] for k, v in arrays.items()})
          for n, st, c, a in zip(names, stamps, counts, ends)}


def _save_cache(path: str, entries: dict[str, tuple]) -> None:
  names = sorted(entries)
  fields = entries[names[0]][1]
  try:
    files_lib.save_npz(
        path, names=np.asarray(names, str),
        stamps=np.asarray([entries[n][0] for n in names],
                          np.int64).reshape(-1, 2),
        counts=np.asarray([len(next(iter(entries[n][1].values())))
                           for n in names], np.int64),
        **{k: np.concatenate([entries[n][1][k] for n in names])
           for k in fields})
  except OSError as e:
    logging.info('%s not written (%s): it is computed again at every start',
                 path, e)


def per_record(paths: Sequence[str], cache_name: str,
               compute: Callable[[str], dict[str, np.ndarray]]
               ) -> list[dict[str, np.ndarray]]:
  """``compute(path)`` ({field: one value per record}) of every file, cached
  in ``<directory>/<cache_name>.npz`` beside the files (module doc)."""
  out: dict[str, dict] = {}
  by_dir: dict[str, list[str]] = {}
  for p in paths:
    by_dir.setdefault(os.path.dirname(os.path.abspath(p)), []).append(p)
  for directory, group in by_dir.items():
    path = os.path.join(directory, f'{cache_name}.npz')
    cache = _load_cache(path)
    stale = [p for p in group if cache.get(os.path.basename(p), ((),))[0]
             != _stamp(p)]
    if stale:
      logging.info('%s: computing %d shards of %s (once per build)',
                   cache_name, len(stale), directory)
      tic = time.perf_counter()
      for p in stale:
        cache[os.path.basename(p)] = (_stamp(p), compute(p))
      logging.info('%s: %d shards of %s done in %.1f s', cache_name,
                   len(stale), directory, time.perf_counter() - tic)
      _save_cache(path, cache)
    for p in group:
      out[p] = cache[os.path.basename(p)][1]
  return [out[p] for p in paths]


def offsets(paths: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
  """(data offsets, data lengths) of every record of each file, cached."""
  for p in paths:
    if '://' in os.fspath(p):
      raise ValueError(f'{p}: the training stream reads records at random '
                       'offsets from local files only; copy the build to a '
                       'local disk')
  found = per_record(paths, CACHE_NAME, lambda p: dict(zip(
      ('offset', 'length'), scan(p))))
  return [(f['offset'], f['length']) for f in found]


@dataclasses.dataclass(frozen=True)
class RecordTable:
  """Records of several files in a fixed order: record i is ``length[i]``
  bytes at ``offset[i]`` of ``paths[file[i]]``."""
  paths: tuple[str, ...]
  file: np.ndarray      # int32 [N]
  offset: np.ndarray    # int64 [N]
  length: np.ndarray    # int64 [N]

  def __len__(self) -> int:
    return len(self.file)

  @classmethod
  def of_files(cls, paths: Sequence[str],
               counts: Sequence[int] | None = None) -> 'RecordTable':
    """Every record of ``paths`` in file order; ``counts``: the expected
    records per file (the build's metadata), checked."""
    found = offsets(paths)
    if counts is not None:
      for p, (o, _), n in zip(paths, found, counts):
        if len(o) != n:
          raise DamagedShard(
              f'{p} holds {len(o)} records, dataset_info.json says {n}: the '
              'shards do not match the metadata (rebuild the data set)')
    return cls(tuple(os.fspath(p) for p in paths),
               np.concatenate([np.full(len(o), k, np.int32)
                               for k, (o, _) in enumerate(found)]
                              or [np.zeros(0, np.int32)]),
               np.concatenate([o for o, _ in found] or [np.zeros(0, np.int64)]),
               np.concatenate([n for _, n in found] or [np.zeros(0, np.int64)]))
