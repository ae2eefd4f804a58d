"""Table columns and the cells of a row from its fold reports.

Every cell function takes (row, {fold: evaluation JSON}, {row label: {fold:
JSON}} of the experiment's other rows) and returns {column key: mean +- std
over the folds} (``metrics.mean_std``; missing values are left out and the
cell says over how many folds it is).
"""

from __future__ import annotations

import math

from lgpn_jax.evaluation import metrics, tables
from lgpn_jax.evaluation.parsing import aggregate, fenpn
from lgpn_jax.red140 import schema

PAPER = aggregate.PAPER_COLUMNS
PER_HYPERPARAMETER = tuple(tables.Column(c, f'L1 {c}', 'l1')
                           for c in schema.CONTINUOUS_COLUMNS)
FIT = (tables.Column('p_value', 'P-value', 'pvalue'),
       tables.Column('correlation', 'corr. coef.', 'number'),
       tables.Column('determination', 'coef. of det.', 'number'),
       tables.Column('slope', 'slope', 'number'))
RED116 = PAPER + FIT
FACE = (tables.Column('continuous_l1', 'continuous L1', 'l1'),
        tables.Column('discrete_f1', 'discrete F1', 'percent'),
        tables.Column('loss_f1', 'loss F1', 'percent'))
ATTACK_SETS = ('seen', 'unseen', 'mixed')
ATTACK = tuple(tables.Column(f'{s}_{k}', f'{s} {h}', 'percent')
               for s in ATTACK_SETS
               for k, h in (('accuracy', 'Acc'), ('auc', 'AUC'),
                            ('pd_at_far', 'Pd@5%FAR')))


def paper(row, reports, others) -> dict:
  del row, others
  return aggregate.summary_cells(reports.values())


def face(row, reports, others) -> dict:
  cells = paper(row, reports, others)
  return {c.key: cells[c.key] for c in FACE}


def per_hyperparameter(row, reports, others) -> dict:
  del row, others
  return aggregate.per_hyperparameter_l1(reports.values())


def attack(row, reports, others) -> dict:
  del row, others
  sets = aggregate.attack_cells(reports.values())
  return {f'{s}_{k}': sets[s][k] for s in ATTACK_SETS if s in sets
          for k in aggregate.ATTACK_KEYS}


def red116(baseline: str):
  """Cells of the RED116 table; the P-value against row ``baseline``
  (Random-GT) fold by fold (``fenpn.p_value``)."""

  def cells(row, reports, others) -> dict:
    out = paper(row, reports, others)
    for key in ('correlation', 'determination', 'slope'):
      out[key] = metrics.mean_std([
          r.get('continuous_fit', {}).get(key, {}).get('mean', math.nan)
          for r in reports.values()])
    if row.label != baseline:
      base = others.get(baseline, {})
      out['p_value'] = metrics.mean_std([fenpn.p_value(r, base[k])
                                         for k, r in reports.items()
                                         if k in base])
    return out

  return cells
