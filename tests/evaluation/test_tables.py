"""Result tables: printed cells, the four formats and the folds column."""

import csv
import io
import json
import math

import pytest

from lgpn_jax.evaluation import tables

COLS = (tables.Column('f1', 'loss F1', 'percent'),
        tables.Column('l1', 'cont_L1', 'l1'),
        tables.Column('p', 'P-value', 'pvalue'))


def _table():
  rows = [
      tables.Row('ours', dict(f1=dict(mean=0.846, std=0.0123, n=3),
                              l1=dict(mean=0.12, std=0.01, n=2),
                              p=dict(mean=0.0221, std=0.007, n=3)), 3, 4),
      tables.Row('pending & co', {}, 0, 4),
      tables.Row('LGPN (rebuttal)', dict(f1=0.846, l1=dict(mean=0.13,
                                                            std=0.011)),
                 source='rebuttal R.1'),
  ]
  return tables.Table('demo 50%', COLS, rows, notes=['a_note'])


def test_cells_scale_round_and_count_missing_folds():
  assert tables.format_cell(dict(mean=0.846, std=0.0123, n=3), 'percent',
                            3) == '84.6 +- 1.2'
  # n below the row's finished folds: a metric some folds lack.
  assert tables.format_cell(dict(mean=0.12, std=0.01, n=2), 'l1',
                            3) == '0.120 +- 0.010 (n=2)'
  assert tables.format_cell(0.0221, 'pvalue') == '0.0221'
  assert tables.format_cell(None, 'l1') == 'n/a'
  assert tables.format_cell(dict(mean=math.nan, std=math.nan, n=0),
                            'percent', 2) == 'n/a'
  assert tables.format_cell('pending', 'percent') == 'pending'


def test_markdown_is_aligned_and_says_how_many_folds_finished():
  text = tables.markdown(_table())
  lines = [l for l in text.splitlines() if l.startswith('|')]
  assert len({len(l) for l in lines}) == 1          # aligned columns.
  assert '3 of 4 folds' in lines[2] and '0 of 4 folds' in lines[3]
  assert 'reported' in lines[4] and 'rebuttal R.1' in lines[4]
  assert '0.130 +- 0.011' in lines[4] and '84.6 ' in lines[4]
  assert text.startswith('### demo 50%') and '- a_note' in text


def test_csv_holds_printed_units_at_full_precision():
  rows = list(csv.reader(io.StringIO(tables.csv_text(_table()))))
  head = rows[0]
  assert head[:4] == ['row', 'loss F1 (%)', 'loss F1 (%) std', 'loss F1 n']
  ours = dict(zip(head, rows[1]))
  assert float(ours['loss F1 (%)']) == pytest.approx(84.6)
  assert float(ours['loss F1 (%) std']) == pytest.approx(1.23)
  assert ours['folds done'] == '3' and ours['folds planned'] == '4'
  ref = dict(zip(head, rows[3]))
  assert ref['folds done'] == '' and ref['source'] == 'rebuttal R.1'
  assert ref['loss F1 (%) std'] == ''


def test_latex_escapes_and_uses_pm():
  tex = tables.latex(_table())
  assert r'\begin{tabular}{lccccl}' in tex and r'\toprule' in tex
  assert r'84.6 $\pm$ 1.2' in tex
  assert r'pending \& co' in tex and r'cont\_L1' in tex
  assert '% demo 50%' in tex.splitlines()[0]


def test_write_four_formats_and_json_round_trip(tmp_path):
  paths = tables.write(_table(), str(tmp_path / 'out'))
  assert sorted(paths) == sorted(tables.FORMATS)
  with open(paths['json']) as f:
    data = json.load(f)
  assert [r['folds'] for r in data['rows']] == ['3 of 4 folds', '0 of 4 folds',
                                                'reported']
  assert data['rows'][0]['cells']['f1']['mean'] == 0.846   # raw, unscaled.
  assert data['rows'][1]['cells']['f1'] is None
  extra = tables.write(_table(), str(tmp_path / 'x'), json_obj={'a': 1})
  with open(extra['json']) as f:
    assert json.load(f) == {'a': 1}


def test_bad_tables_fail_clearly():
  with pytest.raises(ValueError, match='kind'):
    tables.Column('a', 'A', 'percentage')
  with pytest.raises(ValueError, match='not columns'):
    tables.Table('t', COLS, [tables.Row('r', dict(zzz=1), 1, 4)])
