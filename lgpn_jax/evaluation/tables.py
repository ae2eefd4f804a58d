"""Result tables: rows x columns -> Markdown, CSV, LaTeX and JSON.

A ``Table`` has columns and rows. A cell is one of
  * a mean +- std over folds: ``{'mean', 'std', 'n'}`` (``metrics.mean_std``);
  * a reported number with or without its spread: a float, or
    ``{'mean', 'std'}`` (reference rows: what the authors published);
  * a string (printed as is), or None / a NaN mean (printed ``n/a``).
Every row says how many of its planned folds finished (``'3 of 4 folds'``,
the ``folds`` column; a row with nothing finished says ``0 of 4 folds``);
reference rows say ``reported`` there and name their source in the
``source`` column. A cell whose mean covers fewer folds than the row
finished (a metric missing from some folds) shows its own count,
``84.6 +- 1.2 (n=3)``; a mean over one fold is printed without its (zero)
spread.

Column kinds fix the printed form (JSON always holds the raw values):
  ``'percent'``: a fraction printed x100 with one decimal (F1, accuracy);
  ``'l1'``, ``'number'``: three decimals; ``'pvalue'``: three significant
  digits; ``'text'``: as is.
Markdown is padded into aligned columns; CSV has one column per value
(``<header>`` and ``<header> std``, printed units) so a spreadsheet reads
numbers; LaTeX is a booktabs ``tabular`` with ``$\\pm$``.
``write(table, stem)`` writes ``stem.md``, ``stem.csv``, ``stem.tex`` and
``stem.json`` whole or not at all (``lgpn_jax/files.py``).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
from typing import Any, Mapping, Sequence

from lgpn_jax import files

KINDS = ('percent', 'l1', 'number', 'pvalue', 'text')
FORMATS = ('md', 'csv', 'tex', 'json')
PM = '+-'


@dataclasses.dataclass(frozen=True)
class Column:
  key: str
  header: str
  kind: str = 'number'

  def __post_init__(self):
    if self.kind not in KINDS:
      raise ValueError(f'column kind must be one of {KINDS}, got {self.kind!r}')


@dataclasses.dataclass
class Row:
  label: str
  cells: Mapping[str, Any]
  folds_done: int | None = None      # None with folds_planned None: reference.
  folds_planned: int | None = None
  source: str = ''

  @property
  def is_reference(self) -> bool:
    return self.folds_planned is None


@dataclasses.dataclass
class Table:
  title: str
  columns: Sequence[Column]
  rows: list[Row]
  notes: list[str] = dataclasses.field(default_factory=list)

  def __post_init__(self):
    keys = [c.key for c in self.columns]
    if len(set(keys)) != len(keys):
      raise ValueError(f'duplicate column keys in {keys}')
    for row in self.rows:
      extra = set(row.cells) - set(keys)
      if extra:
        raise ValueError(f'row {row.label!r} has cells {sorted(extra)} that '
                         f'are not columns {keys}')


# ------------------------------------------------------------------ cells
def _split(cell) -> tuple[float | None, float | None, int | None]:
  """(mean, std, n) of a numeric cell; (None, None, None) when missing."""
  if cell is None:
    return None, None, None
  if isinstance(cell, Mapping):
    mean, std, n = cell.get('mean'), cell.get('std'), cell.get('n')
    if n == 0 or mean is None or not math.isfinite(float(mean)):
      return None, None, n
    return float(mean), (None if std is None else float(std)), n
  value = float(cell)
  return (value, None, None) if math.isfinite(value) else (None, None, None)


def _scale(kind: str) -> float:
  return 100.0 if kind == 'percent' else 1.0


def _number(value: float, kind: str) -> str:
  if kind == 'percent':
    return f'{100 * value:.1f}'
  if kind == 'pvalue':
    return f'{value:.3g}'
  return f'{value:.3f}'


def format_cell(cell, kind: str, folds_done: int | None = None,
                pm: str = PM) -> str:
  """A cell as printed in Markdown / LaTeX (``pm``: the +- sign)."""
  if kind == 'text' or isinstance(cell, str):
    return '' if cell is None else str(cell)
  mean, std, n = _split(cell)
  if mean is None:
    return 'n/a'
  text = _number(mean, kind)
  if std is not None and n != 1:      # no spread over a single fold.
    text += f' {pm} {_number(std, kind)}'
  if n is not None and folds_done is not None and n < folds_done:
    text += f' (n={n})'
  return text


def folds_text(row: Row) -> str:
  if row.is_reference:
    return 'reported'
  return f'{row.folds_done or 0} of {row.folds_planned} folds'


# -------------------------------------------------------------- renderers
def _grid(table: Table, pm: str) -> list[list[str]]:
  """Header then one list of printed strings per row."""
  head = [''] + [c.header for c in table.columns] + ['folds', 'source']
  out = [head]
  for row in table.rows:
    out.append([row.label] + [format_cell(row.cells.get(c.key), c.kind,
                                          row.folds_done, pm)
                              for c in table.columns]
               + [folds_text(row), row.source])
  return out


def markdown(table: Table) -> str:
  """An aligned Markdown table under ``### title``, notes below it."""
  grid = _grid(table, PM)
  widths = [max(len(r[i]) for r in grid) for i in range(len(grid[0]))]

  def line(cells):
    return '| ' + ' | '.join(c.ljust(w) for c, w in zip(cells, widths)) + ' |'

  lines = [f'### {table.title}', '', line(grid[0]),
           '|' + '|'.join('-' * (w + 2) for w in widths) + '|']
  lines += [line(r) for r in grid[1:]]
  if table.notes:
    lines.append('')
    lines += [f'- {n}' for n in table.notes]
  return '\n'.join(lines) + '\n'


def csv_text(table: Table) -> str:
  """One CSV row per table row; numbers in printed units, full precision."""
  buf = io.StringIO()
  w = csv.writer(buf, lineterminator='\n')
  head = ['row']
  for c in table.columns:
    unit = ' (%)' if c.kind == 'percent' else ''
    head += [c.header + unit] if c.kind == 'text' else [
        c.header + unit, c.header + unit + ' std', c.header + ' n']
  w.writerow(head + ['folds done', 'folds planned', 'source'])
  for row in table.rows:
    out = [row.label]
    for c in table.columns:
      cell = row.cells.get(c.key)
      if c.kind == 'text':
        out.append('' if cell is None else str(cell))
        continue
      mean, std, n = _split(cell)
      s = _scale(c.kind)
      out += ['' if mean is None else f'{s * mean:.6g}',
              '' if std is None else f'{s * std:.6g}',
              '' if n is None else str(n)]
    out += ['' if row.is_reference else str(row.folds_done or 0),
            '' if row.is_reference else str(row.folds_planned), row.source]
    w.writerow(out)
  return buf.getvalue()


_LATEX_ESCAPES = {'\\': r'\textbackslash{}', '&': r'\&', '%': r'\%',
                  '$': r'\$', '#': r'\#', '_': r'\_', '{': r'\{', '}': r'\}',
                  '~': r'\textasciitilde{}', '^': r'\textasciicircum{}'}


def latex_escape(text: str) -> str:
  return ''.join(_LATEX_ESCAPES.get(ch, ch) for ch in text)


def latex(table: Table) -> str:
  """A booktabs ``tabular`` (needs ``\\usepackage{booktabs}``), title as a
  comment, notes as comments below."""
  grid = _grid(table, '\x00')   # the sign survives escaping as a sentinel.
  ncol = len(grid[0])
  body = []
  for i, cells in enumerate(grid):
    esc = [latex_escape(c).replace('\x00', r'$\pm$') for c in cells]
    body.append(' & '.join(esc) + r' \\')
    if i == 0:
      body.append(r'\midrule')
  lines = [f'% {table.title}', r'\begin{tabular}{l' + 'c' * (ncol - 2) + 'l}',
           r'\toprule', *body, r'\bottomrule', r'\end{tabular}']
  lines += [f'% {n}' for n in table.notes]
  return '\n'.join(lines) + '\n'


def to_json(table: Table) -> dict:
  """The table with raw (unscaled) values; NaN -> null."""
  return files.jsonable(dict(
      title=table.title,
      columns=[dataclasses.asdict(c) for c in table.columns],
      rows=[dict(label=r.label, cells={c.key: r.cells.get(c.key)
                                       for c in table.columns},
                 folds_done=r.folds_done, folds_planned=r.folds_planned,
                 folds=folds_text(r), source=r.source) for r in table.rows],
      notes=list(table.notes)))


def write(table: Table, stem: str, json_obj: Mapping | None = None
          ) -> dict[str, str]:
  """Writes ``stem.{md,csv,tex,json}``; returns {format: path}.

  ``json_obj``: what the JSON file holds (default ``to_json(table)``), for
  callers whose JSON carries more than the table.
  """
  texts = dict(md=markdown(table), csv=csv_text(table), tex=latex(table))
  paths = {fmt: files.write_text(text, f'{stem}.{fmt}')
           for fmt, text in texts.items()}
  paths['json'] = files.write_json(
      to_json(table) if json_obj is None else json_obj, f'{stem}.json')
  return paths
