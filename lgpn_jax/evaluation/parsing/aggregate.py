"""Mean +- std over the evaluated folds, in the paper's table layout.

``aggregate(workdir)`` reads the ``eval_fold<k>.json`` present under
``workdir`` and writes ``<workdir>/eval_all_folds.json``.
"""

from __future__ import annotations

import math
import os
from typing import Mapping

from lgpn_jax import files, rundir
from lgpn_jax.evaluation import metrics
from lgpn_jax.evaluation.parsing.settings import DEFINITIONS
from lgpn_jax.red140 import folds


TABLE = (('loss_f1', 'loss F1'), ('loss_accuracy', 'loss Acc'),
         ('discrete_f1', 'discrete F1'), ('discrete_accuracy', 'discrete Acc'),
         ('continuous_l1', 'continuous L1'))


def aggregate_reports(reports: Mapping[int, Mapping]) -> dict:
  """Mean +- std over folds of the paper's table (and baseline, attacks)."""
  if not reports:
    raise ValueError('no fold report to aggregate')
  out = dict(folds=sorted(reports), table={}, baseline_majority={},
             coordinated_attack={}, per_fold={})
  for key, _ in TABLE:
    out['table'][key] = metrics.mean_std(
        [_num(r['summary'][key]) for r in reports.values()])
    out['baseline_majority'][key] = metrics.mean_std(
        [_num(r['baseline_majority']['summary'][key]) for r in reports.values()])
  for name in ('seen', 'unseen'):
    for key in ('accuracy', 'auc', 'pd_at_far'):
      vals = [_num(r['coordinated_attack'].get(name, {}).get(key))
              for r in reports.values()]
      out['coordinated_attack'].setdefault(name, {})[key] = metrics.mean_std(vals)
  for k, r in sorted(reports.items()):
    out['per_fold'][k] = dict(r['summary'], num_generated_images=r[
        'num_generated_images'], protocol=r['protocol'])
  protocols = {r['protocol'] for r in reports.values()}
  out['protocol'] = protocols.pop() if len(protocols) == 1 else sorted(protocols)
  out['images_per_prediction'] = sorted({r['images_per_prediction']
                                         for r in reports.values()})
  out['definitions'] = dict(std=DEFINITIONS['std'],
                            table='F1/accuracy as fractions (x100 in the '
                            'printed table); L1 of normalised values.')
  return out


def _num(x):
  return math.nan if x is None else float(x)


def format_table(agg: Mapping) -> str:
  """The paper's table: loss F1 / Acc | discrete F1 / Acc | continuous L1,
  columns aligned, headed by how many of the folds it covers."""

  def cell(d, scale=100, fmt='.1f'):
    if not d['n']:
      return 'n/a'
    return f'{scale * d["mean"]:{fmt}} +- {scale * d["std"]:{fmt}}'

  rows = [['', 'loss F1 / Acc', 'discrete F1 / Acc', 'continuous L1']]
  for label, src in (('model', agg['table']), ('majority', agg['baseline_majority'])):
    rows.append([label, f'{cell(src["loss_f1"])} / {cell(src["loss_accuracy"])}',
                 f'{cell(src["discrete_f1"])} / {cell(src["discrete_accuracy"])}',
                 cell(src['continuous_l1'], 1, '.3f')])
  widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
  lines = [' | '.join(c.ljust(w) for c, w in zip(r, widths)).rstrip()
           for r in rows]
  head = (f'folds {agg["folds"]} ({agg["protocol"]} protocol): '
          f'{len(agg["folds"])} of {folds.NUM_FOLDS} folds evaluated')
  ca = agg['coordinated_attack']
  attack = '\n'.join(
      f'coordinated attack {name}: acc {cell(ca[name]["accuracy"])}, '
      f'AUC {cell(ca[name]["auc"])}, Pd@FAR {cell(ca[name]["pd_at_far"])}'
      for name in ('seen', 'unseen') if name in ca)
  return '\n'.join([head] + lines + [attack])


def aggregate(workdir: str, num_images: int = 1) -> tuple[dict, str]:
  """Aggregates the ``eval_fold{k}.json`` present under ``workdir``; writes
  ``eval_all_folds.json``. Returns (aggregate, path)."""
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
  return agg, files.write_json(agg, rundir.aggregate_path(workdir,
                                                          num_images))
