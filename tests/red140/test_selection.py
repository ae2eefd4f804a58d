"""Fold selections: the paper's folds unchanged by default, RED116, GM
groups, user tables, Random-GT labels and the held-out image rule."""

import numpy as np
import pytest

from lgpn_jax.red140 import continuous, folds, graphs, schema, selection


@pytest.mark.parametrize('protocol', folds.PROTOCOLS)
def test_defaults_are_the_paper_folds(protocol):
  for k in range(1, folds.NUM_FOLDS + 1):
    sel = selection.get(k, protocol)
    f = folds.get_fold(k, protocol)
    assert (sel.train, sel.test, sel.dropped) == (f.train, f.test, f.dropped)
    assert sel.uses_splits and not sel.relabels()
  sel = selection.get(2, protocol)
  np.testing.assert_array_equal(sel.adjacency(0.45),
                                graphs.fold_correlation_graph(2, 0.45, protocol))
  assert sel.normaliser('minmax').to_dict() == continuous.for_fold(
      2, protocol, 'minmax').to_dict()


def test_red116_uses_the_first_116_gms_and_drops_nothing():
  first = {g.name for g in schema.gms()[:116]}
  for k in range(1, 5):
    sel = selection.get(k, 'paper', gms='red116')
    assert set(sel.train) | set(sel.test) == first and not sel.dropped
    assert set(sel.test) == {n for n in first
                             if schema.get_gm(n).test_set == k}
    assert not sel.uses_splits and sel.relabels()
  # FEN-PN's normalisation: min-max over every RED116 GM.
  sel = selection.get(1, 'paper', gms='red116', normalise_over='all')
  want = continuous.from_gms(sorted(first), 'minmax')
  assert sel.normaliser('minmax').to_dict() == want.to_dict()
  # ... whatever the groups: a test-group evaluation keeps the fold's scale.
  face = selection.get(1, 'paper', gms='red116', normalise_over='all',
                       train_group='face', test_group='non-face')
  assert face.normaliser('minmax').to_dict() == want.to_dict()


def test_user_test_set_table(tmp_path):
  path = tmp_path / 'sets.csv'
  path.write_text('gm,test_set\nAAE,1\nacgan,1\nBEGAN,2\n')
  sel = selection.get(1, 'paper', gms='red116', test_sets=str(path))
  assert sel.test == ('AAE', 'ACGAN') and sel.unlisted == 113
  assert len(sel.train) == 114          # the other 114 RED116 GMs.
  path.write_text('gm,test_set\nAAE,7\n')
  with pytest.raises(ValueError, match='must be 0-4'):
    selection.get(1, gms='red116', test_sets=str(path))
  path.write_text('gm,test_set\nSTABLE_DM_XL,1\n')
  with pytest.raises(ValueError, match='outside red116'):
    selection.get(1, gms='red116', test_sets=str(path))
  path.write_text('gm,test_set\nNOT_A_GM,1\n')
  with pytest.raises(KeyError, match='unknown GM'):
    selection.get(1, test_sets=str(path))


def test_groups_filter_train_and_test_gms(tmp_path):
  groups = selection.read_groups()
  assert set(groups) == {g.name for g in schema.gms()}
  assert set(groups.values()) == {'face', 'non-face'}
  for k in range(1, 5):     # every RED116 fold has both groups on both sides.
    for tg in ('face', 'non-face'):
      sel = selection.get(k, gms='red116', train_group=tg, test_group=tg)
      assert all(groups[n] == tg for n in sel.train + sel.test)
  full = selection.get(1, gms='red116', test_group='face')
  assert len(full.train) == len(selection.get(1, gms='red116').train)
  with pytest.raises(ValueError, match='not a group'):
    selection.get(1, train_group='faces')
  path = tmp_path / 'g.csv'
  path.write_text('gm,group\nAAE,x\n')
  with pytest.raises(ValueError, match='no test GM'):
    selection.get(1, group_table=str(path), test_group='x')


def test_random_gt_permutes_label_rows_and_remaps_batches():
  sel = selection.get(1, permutation_seed=3)
  perm = np.array(sel.permutation)
  assert sorted(perm) == list(range(140)) and (perm != np.arange(140)).any()
  assert selection.get(1, permutation_seed=3).permutation == sel.permutation
  np.testing.assert_array_equal(sel.labels(), schema.label_table()[perm])
  values, _ = continuous.gm_table([g.name for g in schema.gms()])
  batch = dict(gm_index=np.array([5, -1, 7], np.int32),
               label=np.ones((3, 55), np.float32), mask=np.ones(3))
  out = sel.remap(batch)
  np.testing.assert_array_equal(out['label'][0], schema.label_table()[perm[5]])
  assert not out['label'][1].any() and out['is_generated'].tolist() == [1, 0, 1]
  np.testing.assert_allclose(out['continuous'][2], values[perm[7]])
  assert out['test_set'][0] == schema.gms()[5].test_set and out['mask'] is batch['mask']
  # The graph and the normaliser come from the permuted training rows.
  rows = [schema.gm_index()[n] for n in sel.train]
  np.testing.assert_array_equal(
      sel.adjacency(0.45),
      graphs.correlation_graph(schema.label_table()[perm[rows]], 0.45))


def test_holdout_bucket_is_a_function_of_the_8bit_pixels():
  rng = np.random.default_rng(0)
  pixels = rng.integers(0, 256, (400, 16, 16, 3))
  images = (pixels / 255.0 - 0.5) / 0.5
  b = selection.holdout_bucket(images)
  assert b.min() >= 0 and b.max() < 100
  # Float noise below half a grey level does not move an image.
  np.testing.assert_array_equal(
      b, selection.holdout_bucket(images + rng.uniform(-1e-3, 1e-3, images.shape)))
  assert 0.1 < np.mean(b < 20) < 0.3                  # about 20 % held out.
  sel = selection.get(1, holdout_percent=20)
  gm = np.where(np.arange(400) % 4 == 0, -1, 3)      # every 4th image real.
  held = sel.held_out(images, gm)
  np.testing.assert_array_equal(held, (b < 20) & (gm >= 0))
  assert not selection.get(1).held_out(images, gm).any()
  with pytest.raises(ValueError, match='holdout_percent'):
    selection.get(1, holdout_percent=50)


def test_settings_merge_and_reject_unknown_fields():
  import ml_collections
  c = ml_collections.ConfigDict(dict(fold=2, data=dict(protocol='paper')))
  assert selection.settings(c) == (selection.SELECTION_DEFAULTS,
                                   selection.LABEL_DEFAULTS)
  c.selection = dict(gms='red116')
  c.labels = dict(permutation_seed=1)
  sel = selection.from_config(c)
  assert sel.fold == 2 and sel.gms == 'red116' and sel.permutation
  c.selection.bogus = 1
  with pytest.raises(KeyError, match='bogus'):
    selection.from_config(c)
