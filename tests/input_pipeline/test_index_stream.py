"""The index stream's arithmetic: epochs, draws with replacement, mixing,
and batch s as a pure function of (seed, s). Numpy only."""

import numpy as np
import pytest

from input_pipeline import index_stream


def _ids(stream, start, count):
  return np.concatenate([stream.batch(s) for s in range(start, start + count)])


def test_epochs_hold_every_record_once_in_a_new_order():
  stream = index_stream.IndexStream(70, 30, 25, seed=3)   # 4 batches an epoch.
  ids = _ids(stream, 0, 12).reshape(3, 100)
  for epoch in ids:
    np.testing.assert_array_equal(np.sort(epoch), np.arange(100))
  assert not np.array_equal(ids[0], ids[1])
  assert not np.array_equal(ids[1], ids[2])


def test_mixed_batches_hold_the_fraction_and_each_pool_its_epochs():
  gen, real, batch = 50, 7, 10
  stream = index_stream.IndexStream(gen, real, batch, real_fraction=0.33,
                                    seed=1)
  batches = [stream.batch(s) for s in range(70)]
  counts = [int((b >= gen).sum()) for b in batches]
  assert set(counts) == {3, 4}                        # floor / ceil of 3.3.
  assert np.cumsum(counts)[9::10].tolist() == [33 * k for k in range(1, 8)]
  assert [stream.real_before(s) for s in (0, 1, 10, 70)] == [0, 3, 33, 231]
  ids = np.concatenate(batches)   # 231 real draws = 33 epochs of 7;
  np.testing.assert_array_equal(   # 469 generated = 9 epochs of 50 + 19.
      np.bincount(ids[ids >= gen] - gen, minlength=real), [33] * real)
  gen_counts = np.bincount(ids[ids < gen], minlength=gen)
  assert set(gen_counts.tolist()) == {9, 10} and (gen_counts == 10).sum() == 19
  positions = np.concatenate([np.flatnonzero(b >= gen) for b in batches])
  assert len(set(positions.tolist())) == batch   # real slots are spread.


@pytest.mark.parametrize('fraction, expected', [(0.0, 0), (1.0, 4),
                                                (0.25, 1), (0.5, 2)])
def test_fraction_counts_are_exact_decimals(fraction, expected):
  stream = index_stream.IndexStream(9, 5, 4, real_fraction=fraction)
  assert [int((stream.batch(s) >= 9).sum()) for s in range(50)] == (
      [expected] * 50)


def test_draws_with_replacement_are_uniform_with_the_natural_real_share():
  gen, real, batch, steps = 800, 200, 1000, 1000
  stream = index_stream.IndexStream(gen, real, batch,
                                    sampling='with_replacement', seed=5)
  ids = _ids(stream, 0, steps)
  n = gen + real
  counts = np.bincount(ids, minlength=n)
  expected = len(ids) / n
  chi2 = ((counts - expected) ** 2 / expected).sum()
  dof = n - 1       # chi-square: mean dof, std sqrt(2 dof); 6 std either way.
  assert abs(chi2 - dof) < 6 * np.sqrt(2 * dof), chi2
  share = (ids >= gen).mean()
  assert abs(share - real / n) < 6 * np.sqrt(0.2 * 0.8 / len(ids)), share
  first = ids[:n]                  # draws repeat within a pool's length.
  assert len(np.unique(first)) < 0.7 * n


def test_mixed_draws_with_replacement_are_uniform_within_each_pool():
  stream = index_stream.IndexStream(300, 40, 100, real_fraction=0.2,
                                    sampling='with_replacement', seed=2)
  ids = _ids(stream, 0, 3000)
  for pool, lo, n in ((ids[ids < 300], 0, 300), (ids[ids >= 300], 300, 40)):
    counts = np.bincount(pool - lo, minlength=n)
    expected = len(pool) / n
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert abs(chi2 - (n - 1)) < 6 * np.sqrt(2 * (n - 1)), chi2
  assert (ids >= 300).sum() == 0.2 * len(ids)


@pytest.mark.parametrize('sampling', index_stream.SAMPLING)
def test_a_draw_depends_on_its_position_alone(sampling):
  """Batches of 7 and of 13 cut the natural pool's draws in different
  places, across epoch ends (every 1,000) and a block end (2^16)."""
  def positions(batch, lo, hi):
    stream = index_stream.IndexStream(600, 400, batch, sampling=sampling)
    first = lo // batch
    ids = _ids(stream, first, -(-hi // batch) - first)
    return ids[lo - first * batch:hi - first * batch]
  for lo in (2_950, index_stream.BLOCK - 91):
    np.testing.assert_array_equal(positions(7, lo, lo + 200),
                                  positions(13, lo, lo + 200))


@pytest.mark.parametrize('sampling', index_stream.SAMPLING)
@pytest.mark.parametrize('fraction', [None, 0.2])
def test_a_batch_is_a_function_of_seed_and_step_alone(sampling, fraction):
  def make(seed=0):
    return index_stream.IndexStream(1000, 300, 64, real_fraction=fraction,
                                    sampling=sampling, seed=seed)
  running = make()
  far = 10 ** 6
  for s in (0, 1, 2, 5000, far, far + 1, 17):
    np.testing.assert_array_equal(make().batch(s), running.batch(s))
  assert not np.array_equal(make(seed=1).batch(far), running.batch(far))
  assert running.batch(far).min() >= 0 and running.batch(far).max() < 1300


def test_bad_settings_are_one_line_errors():
  with pytest.raises(ValueError, match='sampling must be one of'):
    index_stream.IndexStream(5, 5, 4, sampling='shuffle')
  with pytest.raises(ValueError, match='no real image'):
    index_stream.IndexStream(5, 0, 4, real_fraction=0.2)
  with pytest.raises(ValueError, match='no generated image'):
    index_stream.IndexStream(0, 5, 4, real_fraction=0.5)
  with pytest.raises(ValueError, match=r'in \[0, 1\]'):
    index_stream.IndexStream(5, 5, 4, real_fraction=-0.1)
  with pytest.raises(ValueError, match='no record'):
    index_stream.IndexStream(0, 0, 4)
  only_real = index_stream.IndexStream(0, 5, 4, real_fraction=1.0)
  assert set(_ids(only_real, 0, 5).tolist()) == set(range(5))
