"""Label encoding checked by hand against the table, and decoding."""

import numpy as np
import pytest

from lgpn_jax.red140 import schema
def ones(name):
  return set(np.flatnonzero(schema.encode(schema.get_gm(name).raw)).tolist())


def test_tables_have_expected_sizes():
  assert len(schema.nodes()) == 55
  assert len(schema.gms()) == 140
  assert len(schema.category_names()) == 18
  assert [len(schema.family_nodes(f)) for f in schema.FAMILIES] == [10, 27, 18]
  # 123 distinct label vectors among the 140 GMs (README of the tables).
  assert len(np.unique(schema.label_table(), axis=0)) == 123


@pytest.mark.parametrize('gm, expected', [
    # AAE: L1 + CE; every count in bin 0; BatchNorm, Tanh, ELU, nearest, skip.
    ('AAE', {0, 9, 10, 13, 16, 19, 22, 25, 28, 31, 34, 37, 42, 46, 51, 53}),
    # BIGGAN_512: filters 8365 -> bin 2, blocks 6 -> bin 2, 14 layers/block ->
    # bin 2, 56.2 M params -> bin 1; ReLU last block, deconvolution, down-sampling.
    ('BIGGAN_512', {0, 10, 13, 16, 19, 22, 27, 30, 33, 35, 37, 42, 47, 52, 53, 54}),
    # BETA_B: normalization code 4 -> GroupNorm (node 40), LeakyReLU last layer.
    ('BETA_B', {6, 9, 10, 13, 16, 19, 22, 25, 28, 31, 34, 40, 43, 47, 51, 53, 54}),
    # DDPM_32: filters 999999 ("not reported") -> bin 2 like the released
    # encoder; last-layer code 5 -> no node of that category.
    ('DDPM_32', {2, 10, 13, 16, 19, 22, 27, 30, 32, 35, 38, 48, 52, 53, 54}),
    # SEAN: normalization code 3 -> all four normalization nodes zero.
    ('SEAN', ones('SEAN') - {37, 38, 39, 40}),
])
def test_encode_by_hand(gm, expected):
  assert ones(gm) == expected


def test_unknown_codes_encode_to_zero():
  sean = schema.encode(schema.get_gm('SEAN').raw)
  assert sean[37:41].sum() == 0
  ddpm = schema.encode(schema.get_gm('DDPM_32').raw)
  assert ddpm[41:46].sum() == 0


def test_every_label_is_one_hot_per_category():
  table = schema.label_table()
  cat = np.array([n.category_index for n in schema.nodes()])
  for c in range(3, 12):   # continuous hyperparameters: exactly one bin.
    np.testing.assert_array_equal(table[:, cat == c].sum(1), 1)
  for c in range(12, 16):  # categorical: one value, or none for unknown codes.
    assert set(np.unique(table[:, cat == c].sum(1))) <= {0, 1}


def test_continuous_values_mask_not_reported():
  values, mask = schema.continuous_values(schema.get_gm('DDPM_32').raw)
  assert values[5] == 999999 and mask[5] == 0
  assert mask.sum() == 8
  values, mask = schema.continuous_values(schema.get_gm('AAE').raw)
  np.testing.assert_array_equal(values, [9, 0, 7, 0, 2, 0, 0, 0, 1593378])
  assert mask.sum() == 9


NAMES = {
    'normalization': {0: 'BatchNorm', 1: 'InstanceNorm', 2: 'AdaIN', 3: 'other',
                      4: 'GroupNorm'},
    'last_layer_nonlinearity': {0: 'ReLU', 1: 'Tanh', 2: 'LeakyReLU',
                                3: 'Sigmoid', 4: 'SiLU', 5: 'other'},
    'last_block_nonlinearity': {0: 'ELU', 1: 'ReLU', 2: 'LeakyReLU',
                                3: 'Sigmoid', 4: 'SiLU', 5: 'other'},
    'upsampling': {0: 'nearest', 1: 'deconvolution'},
}


def test_decode_of_true_labels_round_trips_every_gm():
  for gm in schema.gms():
    got = {p.hyperparameter: p for p in schema.decode(schema.encode(gm.raw))}
    assert len(got) == 10 + 9 + 6
    for i in range(10):
      name = schema.nodes()[i].name
      assert got[name].value == ('used' if gm.raw[f'loss_{i}'] else 'not used')
    for col in schema.CONTINUOUS_COLUMNS:
      lo, hi = got[f'continuous/{col}'].value.strip('[)').split(', ')
      assert float(lo) <= gm.raw[col] < float(hi), (gm.name, col)
    for col, names in NAMES.items():
      assert got[f'discrete/{col}'].value == names[gm.raw[col]], (gm.name, col)
    for col in schema.FLAG_COLUMNS:
      assert got[f'discrete/{col}'].value == (
          'used' if gm.raw[col] else 'not used')
    assert all(p.probability == 1.0 for p in got.values())


def test_decode_reports_probabilities_and_regression():
  p = np.full(55, 0.2)
  p[0] = 0.9          # L1 used with 0.9
  p[10:13] = [0.1, 0.7, 0.3]
  preds = {x.hyperparameter: x for x in schema.decode(p, {'layers': 412.0})}
  assert preds['loss/L1'].value == 'used'
  assert preds['loss/L1'].probability == pytest.approx(0.9)
  assert preds['loss/L2'].value == 'not used'
  assert preds['loss/L2'].probability == pytest.approx(0.8)
  assert preds['continuous/layers'].value == '[300, 600)'
  assert preds['continuous/layers'].probability == pytest.approx(0.7)
  assert preds['continuous/layers'].regressed == 412.0
  assert preds['discrete/normalization'].value == 'other'
  report = schema.format_report(list(preds.values()))
  assert '[300, 600) ~412' in report and 'loss/L1' in report


@pytest.mark.parametrize('bad', [np.zeros(54), np.full(55, 1.5),
                                 np.full(55, np.nan)])
def test_decode_rejects_bad_input(bad):
  with pytest.raises(ValueError):
    schema.decode(bad)


def test_unknown_gm_names_close_matches():
  with pytest.raises(KeyError, match='BIGGAN_128'):
    schema.get_gm('BIGGAN128')


def test_a_tie_predicts_zero_as_the_authors_argmax():
  assert schema.node_decision(0.5) == False  # noqa: E712 (numpy bool)
  np.testing.assert_array_equal(schema.node_decision([0.5, 0.50001, 0.49]),
                                [False, True, False])
  p = np.full(schema.NUM_NODES, 0.1)
  p[0] = 0.5                                   # loss node 0: a tie.
  p[37], p[38] = 0.5, 0.2                      # a discrete category's best: a tie.
  preds = {x.hyperparameter: x for x in schema.decode(p)}
  loss0 = schema.nodes()[0].name
  assert preds[loss0].value == 'not used'
  category = schema.nodes()[37].category
  assert preds[category].value == 'other'
