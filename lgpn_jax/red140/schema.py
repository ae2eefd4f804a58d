"""The hyperparameter schema of RED140: 55 graph nodes, 140 GMs, label encoding.

The tables are bundled in ``lgpn_jax/red140/`` (a copy of the project's reference
data) so an installed package never depends on a checkout beside it.

Encoding follows the authors' released encoder exactly:
  * 10 loss nodes copied from ``loss_0..loss_9``;
  * 9 continuous hyperparameters, each one-hot over 3 bins ``[lo, hi)``;
  * 4 categorical codes one-hot over their known values; codes the tables do not
    know (``normalization = 3``, nonlinearity ``5``) encode to all zeros;
  * 2 flags (skip connection, down-sampling): 1 when the raw value is non-zero.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import math
from importlib import resources
from typing import Mapping, Sequence

import numpy as np

NUM_NODES = 55
LOSS_COLUMNS = tuple(f'loss_{i}' for i in range(10))
CONTINUOUS_COLUMNS = ('layers', 'conv_layers', 'fc_layers', 'pool_layers',
                      'norm_layers', 'filters', 'blocks', 'layers_per_block',
                      'params')
CATEGORICAL_COLUMNS = ('normalization', 'last_layer_nonlinearity',
                       'last_block_nonlinearity', 'upsampling')
FLAG_COLUMNS = ('skip_connection', 'downsampling')
FAMILIES = ('loss', 'continuous', 'discrete')
# `filters = 999999` marks "not reported" (the diffusion models).
NOT_REPORTED = {'filters': 999999}


@dataclasses.dataclass(frozen=True)
class Node:
  index: int
  name: str
  family: str
  category: str
  category_index: int
  family_index: int
  source_column: str
  value: str          # '1' (loss/flag), 'binK' (continuous) or a categorical code.
  low: float | None   # continuous bins only: value in [low, high).
  high: float | None


@dataclasses.dataclass(frozen=True)
class GM:
  name: str
  test_set: int                  # 1-4, or 0 when in no test set.
  removed_from_test_in_paper: bool
  raw: Mapping[str, int]         # every raw column of the table.


def _read_csv(name: str) -> list[dict[str, str]]:
  text = resources.files('lgpn_jax.red140').joinpath(name).read_text()
  return list(csv.DictReader(text.splitlines()))


def _parse_range(text: str) -> tuple[float, float]:
  lo, hi = text.strip('[)').split(',')
  return float(lo), (math.inf if hi == 'inf' else float(hi))


@functools.cache
def nodes() -> tuple[Node, ...]:
  """The 55 nodes in label-vector order."""
  out = []
  for row in _read_csv('nodes.csv'):
    low = high = None
    if row['range']:
      low, high = _parse_range(row['range'])
    out.append(Node(int(row['index']), row['node'], row['family'],
                    row['category'], int(row['category_index']),
                    int(row['family_index']), row['source_column'],
                    row['value'], low, high))
  if [n.index for n in out] != list(range(NUM_NODES)):
    raise ValueError('nodes.csv must list nodes 0..54 in order')
  return tuple(out)


@functools.cache
def gms() -> tuple[GM, ...]:
  """The 140 GMs in table order."""
  out = []
  for row in _read_csv('gm_labels.csv'):
    raw = {k: int(v) for k, v in row.items() if k != 'gm'}
    out.append(GM(row['gm'], raw['test_set'],
                  bool(raw['removed_from_test_in_paper']), raw))
  return tuple(out)


@functools.cache
def gm_index() -> dict[str, int]:
  return {gm.name: i for i, gm in enumerate(gms())}


def get_gm(name: str) -> GM:
  try:
    return gms()[gm_index()[name]]
  except KeyError:
    import difflib
    close = difflib.get_close_matches(name, gm_index(), n=5, cutoff=0.5)
    raise KeyError(f'unknown GM {name!r}; closest known names: {close}') from None


def category_names() -> tuple[str, ...]:
  """The 18 first-level supernodes (hyperparameter categories), by index."""
  names = {n.category_index: n.category for n in nodes()}
  return tuple(names[i] for i in range(len(names)))


def category_family() -> np.ndarray:
  """[18] family index of each category."""
  fam = {n.category_index: n.family_index for n in nodes()}
  return np.array([fam[i] for i in range(len(fam))], np.int32)


def family_nodes(family: str) -> np.ndarray:
  """Indices of the nodes of one family ('loss', 'continuous', 'discrete')."""
  if family not in FAMILIES:
    raise ValueError(f'family must be one of {FAMILIES}, got {family!r}')
  return np.array([n.index for n in nodes() if n.family == family], np.int32)


def encode(raw: Mapping[str, int]) -> np.ndarray:
  """Encodes one GM's raw table row into its 55-dim {0,1} node label."""
  label = np.zeros(NUM_NODES, np.float32)
  for n in nodes():
    v = raw[n.source_column]
    if n.family == 'loss' or n.source_column in FLAG_COLUMNS:
      hit = v != 0
    elif n.family == 'continuous':
      hit = n.low <= v < n.high
    else:
      hit = v == int(n.value)
    label[n.index] = float(hit)
  return label


@functools.cache
def label_table() -> np.ndarray:
  """[140, 55] node labels of all GMs, table order (read-only)."""
  table = np.stack([encode(gm.raw) for gm in gms()])
  table.setflags(write=False)
  return table


def continuous_values(raw: Mapping[str, int]) -> tuple[np.ndarray, np.ndarray]:
  """Raw continuous values [9] and their mask [9] (0 where "not reported")."""
  values = np.array([raw[c] for c in CONTINUOUS_COLUMNS], np.float64)
  mask = np.array([raw[c] != NOT_REPORTED.get(c) for c in CONTINUOUS_COLUMNS],
                  np.float32)
  return values, mask


# --------------------------------------------------------------------------
# Decoding predictions into a readable report.


@dataclasses.dataclass(frozen=True)
class Prediction:
  """One hyperparameter's prediction.

  ``value`` is the chosen node's value name ('used'/'not used' for binary
  hyperparameters, a bin range for continuous ones, a category name for
  categorical ones, or 'other' when every node of a categorical hyperparameter
  is below 0.5, the encoding of codes outside the tables); ``probability`` is
  the probability of that choice.
  """
  hyperparameter: str
  family: str
  value: str
  probability: float
  node_probabilities: tuple[float, ...]
  regressed: float | None = None


def node_decision(probabilities):
  """The predicted value of each node: ``P(node = 1) > 0.5``.

  A tie (exactly 0.5) predicts 0, as the authors' 2-way argmax does (argmax
  returns the first index of a tie); the sigmoid classifier follows the same
  rule. Works on numpy arrays and scalars.
  """
  return np.asarray(probabilities) > 0.5


def _hyperparameter_groups() -> list[tuple[str, str, list[Node]]]:
  groups: dict[str, list[Node]] = {}
  for n in nodes():
    key = n.name if n.family == 'loss' else n.category
    groups.setdefault(key, []).append(n)
  return [(k, v[0].family, v) for k, v in groups.items()]


def decode(probabilities: Sequence[float],
           regressed: Mapping[str, float] | None = None) -> list[Prediction]:
  """Turns 55 node probabilities P(node = 1) into one Prediction per hyperparameter.

  ``regressed`` optionally maps a continuous column name (e.g. 'layers') to a
  regressed value, shown beside its bin.
  """
  p = np.asarray(probabilities, np.float64)
  if p.shape != (NUM_NODES,):
    raise ValueError(f'expected {NUM_NODES} node probabilities, got shape {p.shape}')
  if np.any((p < 0) | (p > 1)) or not np.all(np.isfinite(p)):
    raise ValueError('node probabilities must be finite and in [0, 1]')
  out = []
  for key, family, group in _hyperparameter_groups():
    probs = tuple(float(p[n.index]) for n in group)
    if len(group) == 1:  # binary: loss term or flag.
      used = bool(node_decision(probs[0]))
      out.append(Prediction(key, family, 'used' if used else 'not used',
                            probs[0] if used else 1 - probs[0], probs))
      continue
    best = int(np.argmax(probs))
    node = group[best]
    if family == 'continuous':
      hi = 'inf' if math.isinf(node.high) else f'{node.high:g}'
      value = f'[{node.low:g}, {hi})'
      reg = (regressed or {}).get(node.source_column)
      out.append(Prediction(key, family, value, probs[best], probs, reg))
    else:
      chosen = bool(node_decision(probs[best]))
      value = node.name.rsplit('/', 1)[1] if chosen else 'other'
      prob = probs[best] if chosen else 1 - probs[best]
      out.append(Prediction(key, family, value, prob, probs))
  return out


def format_report(predictions: Sequence[Prediction]) -> str:
  """A fixed-width text table of decoded predictions, grouped by family."""
  lines = [f'{"hyperparameter":42s} {"prediction":24s} {"prob":>6s}']
  for family in FAMILIES:
    lines.append(f'-- {family}')
    for p in predictions:
      if p.family != family:
        continue
      value = p.value
      if p.regressed is not None:
        value += f' ~{p.regressed:.4g}'
      lines.append(f'{p.hyperparameter:42s} {value:24s} {p.probability:6.3f}')
  return '\n'.join(lines)
