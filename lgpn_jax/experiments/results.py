"""An experiment's result table from the evaluation JSONs on disk.

``fold_reports`` reads a row's finished folds: an evaluation JSON counts when
the fold's marker says its training and standard evaluation finished
(``layout.done_path``, written by the runner) and the JSON scores the same
checkpoint step, so a table never mixes in a half-trained fold. ``make_table`` gives one row per experiment
row, with "n of N folds" (pending rows: "0 of N" and why in the source
column), then the reference rows; ``write`` puts it in
``<workdir>/tables/<experiment>.{md,csv,tex,json}``.
"""

from __future__ import annotations

import os
from lgpn_jax import files
from lgpn_jax.evaluation import tables
from lgpn_jax.experiments import layout, spec


def evaluated_step(workdir: str, variant: str, fold: int) -> int | None:
  """The checkpoint step a finished fold's evaluations score (its marker,
  ``layout.done_path``), or None when the fold has not finished."""
  path = layout.done_path(workdir, variant, fold)
  return files.read_json(path)['evaluated_step'] if os.path.exists(path) else None


def finished(path: str, step: int | None) -> bool:
  """Whether an evaluation JSON exists and scores checkpoint ``step``."""
  if step is None or not os.path.exists(path):
    return False
  return files.read_json(path).get('checkpoint_step') == step


def fold_reports(exp: spec.Experiment, row: spec.Row, workdir: str,
                 size: str) -> dict[int, dict]:
  """{fold: evaluation JSON} of the row's finished folds."""
  if row.variant is None:
    return {}
  out = {}
  vdir = layout.variant_dir(workdir, row.variant.name)
  for fold in exp.folds(size):
    path = row.evaluation.path(vdir, fold)
    if finished(path, evaluated_step(workdir, row.variant.name, fold)):
      out[fold] = files.read_json(path)
  return out


def make_table(exp: spec.Experiment, workdir: str, size: str
               ) -> tables.Table:
  planned = len(exp.folds(size))
  reports = {row.label: fold_reports(exp, row, workdir, size)
             for row in exp.rows}
  rows = []
  for row in exp.rows:
    got = reports[row.label]
    cells = exp.cells(row, got, reports) if got else {}
    rows.append(tables.Row(row.label, cells, len(got), planned,
                           source=(f'pending: {row.pending}' if row.pending
                                   else f'ours ({size})')))
  notes = list(exp.notes)
  if size == 'quick':
    notes.insert(0, 'quick size: a tiny model trained for a few steps on '
                 'synthetic data; the numbers only show that the pipeline '
                 'runs, they say nothing about the method.')
  return tables.Table(exp.title, exp.columns, rows + list(exp.references),
                      notes)


def write(exp: spec.Experiment, workdir: str, size: str) -> dict[str, str]:
  """Writes the table in the four formats; returns {format: path}."""
  return tables.write(make_table(exp, workdir, size),
                      layout.table_stem(workdir, exp.name))
