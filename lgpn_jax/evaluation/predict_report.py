"""What ``predict`` says about one image, from the model's outputs (pure numpy).

An image's entry (``image_entry``) answers two questions in order:
  1. ``p_generated``: P(generated), the model's real/generated head
     (``real_fake_logits``, trained with 2-way cross-entropy on real and
     generated images). At or above ``THRESHOLD`` = 0.5 (the head's argmax,
     the rule its training accuracy uses) the image "looks generated",
     below it "looks real". A model without that head gives None.
  2. ``hyperparameters``: one row per hyperparameter (``schema.decode``): the
     chosen value and its probability, and for the 9 continuous ones the
     regressed raw value when the fold has a regression stage. For an image
     that looks real these rows describe no generative model, so they are
     left out unless ``force`` (then ``shown_despite_real`` is True).
Regressed values are clipped to the range of the fold's training GMs
(``training_ranges``: a linear map extrapolates freely, e.g. a negative
number of blocks); ``clipped`` says so and ``regressed_unclipped`` keeps the
raw output. ``in_predicted_bin`` is False when the (clipped) value lies
outside the bin the classifier chose: the two parts of the model disagree,
and the text marks it with '!'.

``format_entry`` prints an entry as text, ``to_csv`` writes a whole report
(one row per image) as CSV.
"""

from __future__ import annotations

import csv
import functools
import io
from typing import Mapping, Sequence

import numpy as np

from lgpn_jax.red140 import continuous, folds, schema

THRESHOLD = 0.5
CLIPPED, OUTSIDE_BIN = '*', '!'
MARKS_NOTE = (f'{CLIPPED} clipped to the range of the fold\'s training GMs; '
              f'{OUTSIDE_BIN} outside the predicted bin (the regression and '
              'the bin classifier disagree)')


def training_ranges(fold: int, protocol: str) -> tuple[np.ndarray, np.ndarray]:
  """(low [9], high [9]) raw continuous values over the fold's training GMs
  (values "not reported" left out)."""
  values, mask = continuous.gm_table(folds.get_fold(fold, protocol).train)
  lo = np.array([values[mask[:, j] > 0, j].min() for j in range(len(mask[0]))])
  hi = np.array([values[mask[:, j] > 0, j].max() for j in range(len(mask[0]))])
  return lo, hi


@functools.lru_cache(maxsize=None)
def _columns() -> dict[str, tuple[str, tuple[tuple[float, float], ...]]]:
  """Continuous hyperparameter -> (source column, its bins [(low, high)])."""
  out: dict[str, tuple[str, list]] = {}
  for n in schema.nodes():
    if n.family == 'continuous':
      out.setdefault(n.category, (n.source_column, []))[1].append(
          (n.low, n.high))
  return {k: (c, tuple(b)) for k, (c, b) in out.items()}


def _bin_of(value: float, bins) -> int | None:
  for i, (low, high) in enumerate(bins):
    if low <= value < high:
      return i
  return None


def hyperparameter_rows(probabilities: Sequence[float],
                        regressed: Mapping[str, float] | None,
                        ranges: tuple[np.ndarray, np.ndarray] | None) -> list[dict]:
  """One dict per hyperparameter (see the module doc); ``regressed`` maps a
  continuous column to its raw regressed value."""
  rows = []
  cols = _columns()
  for p in schema.decode(np.clip(np.asarray(probabilities, np.float64), 0, 1)):
    row = dict(name=p.hyperparameter, family=p.family, value=p.value,
               probability=p.probability,
               node_probabilities=list(p.node_probabilities))
    if p.family == 'continuous' and regressed is not None:
      column, bins = cols[p.hyperparameter]
      raw = float(regressed[column])
      value = raw
      if ranges is not None:
        j = schema.CONTINUOUS_COLUMNS.index(column)
        value = float(np.clip(raw, ranges[0][j], ranges[1][j]))
      chosen = int(np.argmax(p.node_probabilities))
      row.update(regressed=value, regressed_unclipped=raw,
                 clipped=value != raw,
                 in_predicted_bin=_bin_of(value, bins) == chosen)
    rows.append(row)
  return rows


def image_entry(path: str, probabilities, p_generated: float | None,
                regressed: Mapping[str, float] | None,
                ranges, force: bool = False) -> dict:
  """The report of one image (see the module doc)."""
  looks_real = p_generated is not None and p_generated < THRESHOLD
  entry = dict(path=path, p_generated=p_generated,
               looks=('unknown' if p_generated is None else
                      'real' if looks_real else 'generated'))
  if not looks_real or force:
    entry['hyperparameters'] = hyperparameter_rows(probabilities, regressed,
                                                   ranges)
    entry['shown_despite_real'] = looks_real
  return entry


def _verdict(entry: Mapping) -> str:
  p = entry['p_generated']
  if p is None:
    return 'this model has no real/generated head'
  return (f'P(generated) = {p:.3f}: looks '
          f'{"GENERATED" if entry["looks"] == "generated" else "REAL"}')


def format_entry(entry: Mapping) -> str:
  """The text block of one image: verdict line, then the table (if shown)."""
  lines = [_verdict(entry)]
  rows = entry.get('hyperparameters')
  if rows is None:
    lines[0] += ('. The hyperparameters describe the model that generated '
                 'an image, so they are not shown (--force shows them).')
    return '\n'.join(lines)
  if entry.get('shown_despite_real'):
    lines.append('(--force: hyperparameters shown for an image that looks '
                 'real; they are not findings)')
  lines.append(f'{"hyperparameter":42s} {"prediction":30s} {"prob":>6s}')
  marks = False
  for family in schema.FAMILIES:
    lines.append(f'-- {family}')
    for r in rows:
      if r['family'] != family:
        continue
      value = r['value']
      if 'regressed' in r:
        flag = ((CLIPPED if r['clipped'] else '')
                + ('' if r['in_predicted_bin'] else OUTSIDE_BIN))
        marks = marks or bool(flag)
        value += f' ~{r["regressed"]:.4g}{(" " + flag) if flag else ""}'
      lines.append(f'{r["name"]:42s} {value:30s} {r["probability"]:6.3f}')
  if marks:
    lines.append(MARKS_NOTE)
  return '\n'.join(lines)


def to_csv(report: Mapping) -> str:
  """One row per image: path, p_generated, looks, then each hyperparameter's
  value and probability (and ``<name> regressed`` where fitted); blank where
  not shown. Unreadable files get a row with their ``error``."""
  regressed = bool(report.get('regression'))
  header = ['path', 'p_generated', 'looks', 'error']
  for name, family in _hyperparameter_names():
    header += [name, f'{name} probability']
    if family == 'continuous' and regressed:
      header += [f'{name} regressed', f'{name} flags']
  buf = io.StringIO()
  w = csv.writer(buf, lineterminator='\n')
  w.writerow(header)
  for e in report['images']:
    row = {'path': e['path'], 'looks': e['looks'],
           'p_generated': '' if e['p_generated'] is None else
           f'{e["p_generated"]:.6g}'}
    for r in e.get('hyperparameters', ()):
      row[r['name']] = r['value']
      row[f'{r["name"]} probability'] = f'{r["probability"]:.6g}'
      if 'regressed' in r:
        row[f'{r["name"]} regressed'] = f'{r["regressed"]:.6g}'
        row[f'{r["name"]} flags'] = (
            ('clipped ' if r['clipped'] else '')
            + ('' if r['in_predicted_bin'] else 'outside_bin')).strip()
    w.writerow([row.get(h, '') for h in header])
  for e in report['errors']:
    w.writerow([{'path': e['path'], 'error': e['reason']}.get(h, '')
                for h in header])
  return buf.getvalue()


@functools.lru_cache(maxsize=None)
def _hyperparameter_names() -> tuple[tuple[str, str], ...]:
  """(name, family) of the 25 hyperparameters, in the report's order."""
  return tuple((p.hyperparameter, p.family)
               for p in schema.decode(np.zeros(schema.NUM_NODES)))
