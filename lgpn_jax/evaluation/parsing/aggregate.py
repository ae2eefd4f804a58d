"""Mean +- std over the evaluated folds, in the paper's table layout.

``aggregate(workdir)`` reads the ``eval_fold<k>.json`` present under
``workdir`` and writes ``<workdir>/eval_all_folds.json`` (everything below)
beside ``eval_all_folds.md`` / ``.csv`` / ``.tex``, the table of the model
and the majority baseline with how many of the 4 folds finished
(``lgpn_jax/evaluation/tables.py``). Besides the paper's five numbers the
aggregate holds the per-hyperparameter L1 over folds (Tab. 2(b):
``per_hyperparameter_l1``) and the coordinated-attack metrics of each pair set
the folds report. ``summary_cells`` / ``PAPER_COLUMNS`` are the same
aggregation for other callers' tables (lgpn_jax/experiments).
"""

from __future__ import annotations

import math
import os
from typing import Mapping

from lgpn_jax import files, rundir
from lgpn_jax.evaluation import metrics, tables
from lgpn_jax.evaluation.parsing.settings import DEFINITIONS
from lgpn_jax.red140 import folds, schema

PAPER_COLUMNS = (tables.Column('loss_f1', 'loss F1', 'percent'),
                 tables.Column('loss_accuracy', 'loss Acc', 'percent'),
                 tables.Column('discrete_f1', 'discrete F1', 'percent'),
                 tables.Column('discrete_accuracy', 'discrete Acc', 'percent'),
                 tables.Column('continuous_l1', 'continuous L1', 'l1'))
ATTACK_KEYS = ('accuracy', 'auc', 'pd_at_far')


def _num(x):
  return math.nan if x is None else float(x)


def summary_cells(reports, part: str = 'summary') -> dict:
  """{paper column: mean_std} over fold reports (``part``: 'summary' or
  'baseline_majority' for the majority baseline)."""
  reports = list(reports)
  pick = ((lambda r: r['summary']) if part == 'summary'
          else (lambda r: r[part]['summary']))
  return {c.key: metrics.mean_std([_num(pick(r).get(c.key)) for r in reports])
          for c in PAPER_COLUMNS}


def per_hyperparameter_l1(reports) -> dict:
  """{continuous column: mean_std} of each fold's per-hyperparameter L1."""
  reports = list(reports)
  return {col: metrics.mean_std([
      _num(r.get('continuous_l1', {}).get('per_hyperparameter', {}).get(col))
      for r in reports]) for col in schema.CONTINUOUS_COLUMNS}


def attack_cells(reports) -> dict:
  """{pair set: {metric: mean_std}} for every set some fold reports."""
  reports = list(reports)
  names = []
  for r in reports:
    names += [n for n, v in r.get('coordinated_attack', {}).items()
              if isinstance(v, Mapping) and n not in names]
  return {name: {key: metrics.mean_std(
      [_num(r['coordinated_attack'].get(name, {}).get(key)) for r in reports])
      for key in ATTACK_KEYS} for name in names}


def aggregate_reports(reports: Mapping[int, Mapping]) -> dict:
  """Mean +- std over folds of the paper's table (and baseline, attacks)."""
  if not reports:
    raise ValueError('no fold report to aggregate')
  values = list(reports.values())
  out = dict(folds=sorted(reports), num_folds=folds.NUM_FOLDS,
             table=summary_cells(values),
             baseline_majority=summary_cells(values, 'baseline_majority'),
             per_hyperparameter_l1=per_hyperparameter_l1(values),
             coordinated_attack=attack_cells(values), per_fold={})
  for k, r in sorted(reports.items()):
    out['per_fold'][k] = dict(r['summary'], num_generated_images=r[
        'num_generated_images'], protocol=r['protocol'])
  protocols = {r['protocol'] for r in values}
  out['protocol'] = protocols.pop() if len(protocols) == 1 else sorted(protocols)
  out['images_per_prediction'] = sorted({r['images_per_prediction']
                                         for r in values})
  out['definitions'] = dict(std=DEFINITIONS['std'],
                            table='F1/accuracy as fractions (x100 in the '
                            'printed table); L1 of normalised values.')
  return out


def result_table(agg: Mapping) -> tables.Table:
  """The model and majority-baseline rows of an aggregate."""
  done = len(agg['folds'])
  rows = [tables.Row('model', agg['table'], done, folds.NUM_FOLDS),
          tables.Row('majority baseline', agg['baseline_majority'], done,
                     folds.NUM_FOLDS)]
  return tables.Table(
      f'mean +- std over folds {agg["folds"]} ({agg["protocol"]} protocol)',
      PAPER_COLUMNS, rows,
      notes=[agg['definitions']['std'], agg['definitions']['table']])


def format_table(agg: Mapping) -> str:
  """The printed aggregate, headed by how many of the folds it covers: the
  Markdown table (aligned columns) and the attack lines."""

  def cell(d):
    return tables.format_cell(d, 'percent')

  ca = agg['coordinated_attack']
  attack = [f'coordinated attack {name}: acc {cell(v["accuracy"])}, '
            f'AUC {cell(v["auc"])}, Pd@FAR {cell(v["pd_at_far"])}'
            for name, v in ca.items()]
  head = (f'folds {agg["folds"]} ({agg["protocol"]} protocol): '
          f'{len(agg["folds"])} of {folds.NUM_FOLDS} folds evaluated')
  return '\n'.join([head, tables.markdown(result_table(agg))] + attack)


def aggregate(workdir: str, num_images: int = 1) -> tuple[dict, str]:
  """Aggregates the ``eval_fold{k}.json`` present under ``workdir``; writes
  ``eval_all_folds.{json,md,csv,tex}``. Returns (aggregate, JSON path)."""
  reports = {}
  for k in range(1, folds.NUM_FOLDS + 1):
    p = rundir.eval_path(workdir, k, num_images)
    if os.path.exists(p):
      reports[k] = files.read_json(p)
  if not reports:
    raise FileNotFoundError(f'no eval_fold<k> JSON under {workdir}/fold<k>/: '
                            'evaluate the folds first')
  agg = aggregate_reports(reports)
  agg['table_text'] = format_table(agg)
  table = result_table(agg)
  agg['result_table'] = tables.to_json(table)
  stem = os.path.splitext(rundir.aggregate_path(workdir, num_images))[0]
  paths = tables.write(table, stem, json_obj=agg)
  return agg, paths['json']
