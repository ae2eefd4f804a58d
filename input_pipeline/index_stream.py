"""Which training record comes at each position: a pure function of (seed,
position), so that a run resumed at any step reads exactly what an
uninterrupted one reads, at O(1) cost.

A stream's records are two pools: ``num_generated`` generated records (ids
``0 .. G-1``) and ``num_real`` real ones (ids ``G .. G+R-1``). Global batch
``s`` (the run's s-th batch over all hosts: the trainer's step) holds
``batch_size`` record ids computed from (seed, s) alone, in microseconds.

Mixing (``real_fraction``):
  * ``None``: one pool of all G + R records, so real images come at their
    natural share (exactly, over each epoch of 'epochs' sampling);
  * ``r`` in [0, 1]: batch s holds ``floor(r B (s+1)) - floor(r B s)`` real
    images (floor or ceil of r*B, with r the decimal as written: 0.2 is 1/5),
    so the first s batches hold exactly ``floor(r B s)``: every batch has the
    fraction, and the place of batch s in each pool is known without looking
    at earlier batches. The B slots of a mixed batch are shuffled (per batch),
    so each host's slice of it gets real and generated images alike. (Our
    choice: a count per batch instead of an independent coin per image, same
    expectation, less variance, and O(1) to resume.)

Sampling the k-th draw from a pool of n records (``sampling``):
  * ``'epochs'``: epoch ``e = k // n`` is a permutation of the pool made from
    (seed, pool, e): every record once per epoch, a new order every epoch;
  * ``'with_replacement'``: record ``u_k mod n``, u_k the k-th of a stream of
    independent uniform 64-bit integers (blocks of 2^16 made from (seed,
    pool, k // 2^16)): every draw uniform over the pool (bias < n / 2^64),
    as the authors' released loader draws (RandomSampler with replacement
    over the concatenation of generated and real images).

Random numbers: the raw 64-bit output of NumPy's counter-based Philox
generator keyed through ``SeedSequence`` by (seed, purpose, pool, epoch or
block). NumPy keeps the streams of its bit generators and of SeedSequence
fixed across versions (unlike ``Generator``'s methods, such as
``permutation``), so the order does not depend on the NumPy version. A
permutation is the stable argsort of n raw values. Resuming at step s costs
one permutation of a pool (``epochs``: about 25 ms for 150,000 records on
our 2-core machine) or one block of draws, whatever s is.

Pure numpy: no TensorFlow, testable alone.
"""

from __future__ import annotations

import fractions

import numpy as np

SAMPLING = ('epochs', 'with_replacement')
BLOCK = 1 << 16          # draws per random block of 'with_replacement'.
_SLOTS, _POOLS = 0, 1    # purposes of the random streams.


def _raw(words: list[int], n: int) -> np.ndarray:
  """n raw uint64 values of Philox keyed by SeedSequence(words)."""
  return np.random.Philox(np.random.SeedSequence(words)).random_raw(n)


class _Pool:
  """Draws of one pool: ``take(start, count)`` -> record ids (0 .. size-1)."""

  def __init__(self, size: int, words: list[int], sampling: str):
    self.size = size
    self._words = words
    self._epochs = sampling == 'epochs'
    self._unit = size if self._epochs else BLOCK
    self._cache: dict[int, np.ndarray] = {}

  def _chunk(self, j: int) -> np.ndarray:
    """Epoch j's permutation, or block j's draws."""
    if j not in self._cache:
      if len(self._cache) >= 2:
        self._cache.pop(min(self._cache))
      raw = _raw(self._words + [j], self._unit)
      self._cache[j] = (np.argsort(raw, kind='stable') if self._epochs
                        else (raw % np.uint64(self.size)).astype(np.int64))
    return self._cache[j]

  def take(self, start: int, count: int) -> np.ndarray:
    parts, k, end = [], start, start + count
    while k < end:
      j, r = divmod(k, self._unit)
      m = min(self._unit - r, end - k)
      parts.append(self._chunk(j)[r:r + m])
      k += m
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


class IndexStream:
  """Record ids of every global batch; see the module doc."""

  def __init__(self, num_generated: int, num_real: int, batch_size: int, *,
               real_fraction: float | None = None, sampling: str = 'epochs',
               seed: int = 0):
    if sampling not in SAMPLING:
      raise ValueError(f'sampling must be one of {SAMPLING}, got {sampling!r}')
    if batch_size < 1:
      raise ValueError(f'batch_size must be >= 1, got {batch_size}')
    if seed < 0:
      raise ValueError(f'seed must be >= 0, got {seed}')
    self.num_generated, self.num_real = int(num_generated), int(num_real)
    self.batch_size = int(batch_size)
    words = [int(seed), _POOLS, SAMPLING.index(sampling)]
    if real_fraction is None:
      self._share = None
      if not self.num_generated + self.num_real:
        raise ValueError('the stream has no record to train on')
      self._all = _Pool(self.num_generated + self.num_real, words + [0],
                        sampling)
      return
    if not 0 <= real_fraction <= 1:
      raise ValueError(f'real_fraction must be in [0, 1], got {real_fraction}')
    self._share = fractions.Fraction(repr(float(real_fraction)))
    if self._share > 0 and not self.num_real:
      raise ValueError(f'real_fraction={real_fraction} but the stream has no '
                       'real image')
    if self._share < 1 and not self.num_generated:
      raise ValueError(f'real_fraction={real_fraction} but the stream has no '
                       'generated image')
    self._gen = _Pool(max(self.num_generated, 1), words + [1], sampling)
    self._real = _Pool(max(self.num_real, 1), words + [2], sampling)
    self._slot_words = [int(seed), _SLOTS]

  def real_before(self, step: int) -> int:
    """Real images in global batches 0 .. step-1 (a mixed stream)."""
    return int(self._share * self.batch_size * step)   # floor (>= 0).

  def batch(self, step: int) -> np.ndarray:
    """The ``batch_size`` record ids of global batch ``step`` (int64)."""
    b = self.batch_size
    if self._share is None:
      return self._all.take(step * b, b)
    r0, r1 = self.real_before(step), self.real_before(step + 1)
    ids = np.concatenate([self._gen.take(step * b - r0, b - (r1 - r0)),
                          self.num_generated + self._real.take(r0, r1 - r0)])
    order = np.argsort(_raw(self._slot_words + [step], b), kind='stable')
    return ids[order]
