"""An experiment's result table from the evaluation JSONs on disk.

``fold_reports`` reads a row's finished folds: an evaluation JSON counts when
it exists and was made from the final checkpoint (``checkpoint_step`` ==
``train.num_steps`` of the variant's config at this size), so a table never
mixes in a half-trained fold. ``make_table`` gives one row per experiment
row, with "n of N folds" (pending rows: "0 of N" and why in the source
column), then the reference rows; ``write`` puts it in
``<workdir>/tables/<experiment>.{md,csv,tex,json}``.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

from lgpn_jax import files
from lgpn_jax.evaluation import tables
from lgpn_jax.experiments import layout, spec


def finished(path: str, num_steps: int) -> bool:
  """Whether an evaluation JSON exists and scores the final checkpoint."""
  if not os.path.exists(path):
    return False
  return files.read_json(path).get('checkpoint_step') == num_steps


def fold_reports(exp: spec.Experiment, row: spec.Row, workdir: str,
                 size: str, overrides: Sequence[tuple[str, Any]] = ()
                 ) -> dict[int, dict]:
  """{fold: evaluation JSON} of the row's finished folds."""
  if row.variant is None:
    return {}
  out = {}
  vdir = layout.variant_dir(workdir, row.variant.name)
  for fold in exp.folds(size):
    config = spec.build_config(row.variant, size, fold, overrides, exp.quick)
    path = row.evaluation.path(vdir, fold)
    if finished(path, int(config.train.num_steps)):
      out[fold] = files.read_json(path)
  return out


def make_table(exp: spec.Experiment, workdir: str, size: str,
               overrides: Sequence[tuple[str, Any]] = ()) -> tables.Table:
  planned = len(exp.folds(size))
  reports = {row.label: fold_reports(exp, row, workdir, size, overrides)
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


def write(exp: spec.Experiment, workdir: str, size: str,
          overrides: Sequence[tuple[str, Any]] = ()) -> dict[str, str]:
  """Writes the table in the four formats; returns {format: path}."""
  return tables.write(make_table(exp, workdir, size, overrides),
                      layout.table_stem(workdir, exp.name))
