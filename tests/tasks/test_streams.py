"""Model parsing's training stream: refilled batches, mislabelling, the real
share under a holdout, and the stream of a selected fold on the tiny build."""

import numpy as np
import pytest

from configs import selected, tiny
from lgpn_jax.red140 import schema, selection
from lgpn_jax.tasks import parsing, streams


def test_refill_keeps_order_and_full_batches():
  batches = [dict(x=np.arange(i, i + 4)) for i in range(0, 20, 4)]
  out = list(streams.refill(batches, lambda b: b['x'] % 3 != 0, 3))
  kept = [v for v in range(20) if v % 3]
  assert [list(b['x']) for b in out] == [kept[i:i + 3] for i in range(0, 12, 3)]


def test_real_weight_keeps_the_real_share_after_dropping():
  r, h = 0.2, 0.3
  w = streams.real_weight(r, h)
  assert w / (w + (1 - w) * (1 - h)) == pytest.approx(r)
  assert streams.real_weight(None, h) is None
  assert streams.real_weight(r, 0.0) == r


def _batches(n_batches=200, size=50, seed=0):
  rng = np.random.default_rng(seed)
  for _ in range(n_batches):
    gen = (rng.uniform(size=size) < 0.8).astype(np.int32)
    yield dict(is_generated=gen, label=np.repeat(gen[:, None], 55, 1)
               .astype(np.float32))


def test_mislabel_relabels_p_percent_of_generated_images_deterministically():
  before = list(_batches())
  after = list(streams.mislabel(_batches(), 5.0, seed=1))
  gen = np.concatenate([b['is_generated'] for b in before]) > 0
  now = np.concatenate([b['is_generated'] for b in after]) > 0
  flipped = gen & ~now
  assert not (~gen & now).any()                    # real images untouched.
  assert flipped.sum() / gen.sum() == pytest.approx(0.05, abs=0.01)
  labels = np.concatenate([b['label'] for b in after])
  assert not labels[flipped].any() and labels[now].all()
  again = np.concatenate([b['is_generated'] for b in streams.mislabel(
      _batches(), 5.0, seed=1)])
  np.testing.assert_array_equal(again, now)        # a replayed stream.
  other = np.concatenate([b['is_generated'] for b in streams.mislabel(
      _batches(), 5.0, seed=2)])
  assert (other != now).any()
  same = list(streams.mislabel(_batches(), 0.0, seed=1))
  np.testing.assert_array_equal(same[3]['is_generated'],
                                before[3]['is_generated'])
  resumed = [b['is_generated'] for b in streams.mislabel(   # at batch 120.
      before[120:], 5.0, seed=1, position=120 * 50)]
  np.testing.assert_array_equal(np.concatenate(resumed), now[120 * 50:])


def test_uniform_hash_is_uniform_and_seeded():
  u = streams.uniform_hash(3, 0, np.arange(20000))
  assert 0 <= u.min() and u.max() < 1
  assert np.histogram(u, 10, (0, 1))[0].min() > 1800
  assert not np.array_equal(u, streams.uniform_hash(3, 1, np.arange(20000)))


@pytest.mark.slow
def test_selected_stream_on_the_tiny_build(synthetic_builder):
  c = selected.add_sections(tiny.get_config())
  c.train.batch_size = 16
  c.selection.gms = 'red116'
  c.selection.holdout_percent = 30
  c.labels.permutation_seed = 4
  c.labels.mislabel_percent = 10.0
  task = parsing.ModelParsing(c)
  task.check()
  sel = selection.from_config(c)
  it = task.train_batches(synthetic_builder, seed=0)
  batches = [next(it) for _ in range(12)]
  assert all(len(b['image']) == 16 for b in batches)
  assert set(batches[0]) == set(parsing.BATCH_KEYS)
  # The task_data source drops gm_index from the keys the step reads; the
  # labels and held-out images are checked through the same stream with it.
  raw = streams.parsing_batches(c, synthetic_builder, 0,
                                parsing.BATCH_KEYS + ('gm_index',))
  rows = [next(raw) for _ in range(12)]
  gm = np.concatenate([b['gm_index'] for b in rows])
  images = np.concatenate([b['image'] for b in rows])
  labels = np.concatenate([b['label'] for b in rows])
  gen = np.concatenate([b['is_generated'] for b in rows]) > 0
  names = {schema.gms()[g].name for g in gm[gm >= 0]}
  assert names <= set(sel.train) and (gm < 0).any()
  assert not sel.held_out(images, gm).any()
  table = sel.labels()
  np.testing.assert_array_equal(labels[gen], table[gm[gen]])
  relabelled = (gm >= 0) & ~gen                       # mislabelled as real.
  assert not labels[relabelled].any()
  np.testing.assert_array_equal(task.adjacency(), sel.adjacency(c.graph.tau))
