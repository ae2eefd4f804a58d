"""Which GMs and images a fold trains and tests on, and which labels they carry.

``from_config(config, fold)`` -> ``Selection``: the training and test GMs of a
fold, the share of each training GM's images held out of training, and the
label table. It reads two optional config sections (absent: the defaults,
i.e. the paper's RED140 fold exactly as ``folds.get_fold`` gives it; the
fields are added by configs/selected.py and the configs built on it):

``config.selection``
  * ``gms``: 'red140' (all 140 GMs) | 'red116' (FEN-PN's data set: the first
    116 GMs of the label table, in the same order).
  * ``test_sets``: a CSV file ``gm,test_set`` (0 = in no test set, 1-4) that
    replaces the test-set column; '' = the label table's column (for
    'red116': that column restricted to its 116 GMs, our stand-in for
    FEN-PN's test sets, whose lists we could not find). GMs the file does not
    list are in no test set (always trained on); ``unlisted`` counts them.
  * ``train_group`` / ``test_group``: train / test only on the GMs of one
    group of ``group_table`` ('' = every GM); e.g. 'face' / 'non-face'.
  * ``group_table``: a CSV ``gm,group[,...]``; '' = the shipped
    ``face_nonface.csv`` (a best-effort face / non-face attribute per GM
    with its basis, see docs/EXPERIMENTS.md).
  * ``holdout_percent``: p in [0, 50): p % of every training GM's generated
    images are never trained on (their ``holdout_bucket`` < p); the first
    half of them (bucket < p / 2) validate, the rest test the "seen" GMs of
    the coordinated-attack protocol.
  * ``normalise_over``: continuous normalisation fitted on the 'train' GMs
    (the project's default) or on 'all' GMs of ``gms``, whatever the fold
    or groups (FEN-PN's ground-truth files are normalised over the whole
    RED116 table).
``config.labels``
  * ``permutation_seed``: None, or the seed of a permutation of the 140
    label rows (Random-GT: GM i carries the labels and continuous values of
    GM ``permutation[i]``), used for training, the graph and evaluation.
  * ``mislabel_percent``, ``mislabel_seed``: training-stream relabelling
    (lgpn_jax/tasks/streams.py).

With the defaults every fold is a plain split expression of the build
(``uses_splits``); otherwise the streams select GMs by a source table.
The stored TFRecords always keep the true labels: ``remap`` rewrites a
batch's labels from its ``gm_index``. numpy only.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import os
from importlib import resources
from typing import Mapping

import numpy as np

from lgpn_jax.red140 import continuous, folds, graphs, schema

GM_SETS = {'red140': 140, 'red116': 116}
NORMALISE_OVER = ('train', 'all')
SELECTION_DEFAULTS = dict(gms='red140', test_sets='', train_group='',
                          test_group='', group_table='', holdout_percent=0,
                          normalise_over='train')
LABEL_DEFAULTS = dict(permutation_seed=None, mislabel_percent=0.0,
                      mislabel_seed=0)
GROUP_TABLE = 'face_nonface.csv'
NUM_SOURCES = 141       # real + 140 GMs; index gm_index + 1.
HASH_STRIDE = 4         # pixels hashed: every 4th row / column.


def settings(config) -> tuple[dict, dict]:
  """(selection, labels) sections of ``config`` over their defaults."""
  out = []
  for name, defaults in (('selection', SELECTION_DEFAULTS),
                         ('labels', LABEL_DEFAULTS)):
    section = config.get(name) if hasattr(config, 'get') else None
    given = dict(section.items()) if section is not None else {}
    unknown = sorted(set(given) - set(defaults))
    if unknown:
      raise KeyError(f'config.{name} has unknown fields {unknown}; known: '
                     f'{sorted(defaults)}')
    out.append({**defaults, **given})
  return out[0], out[1]


# ------------------------------------------------------------ user tables
def read_table(path: str, column: str) -> dict[str, str]:
  """{GM name: value of ``column``} of a CSV with a ``gm`` column; GM names
  match the label table's case-insensitively (close names in the error)."""
  if not os.path.exists(path):
    raise FileNotFoundError(f'no table {path}')
  with open(path, newline='') as f:
    rows = list(csv.DictReader(f))
  if not rows or 'gm' not in rows[0] or column not in rows[0]:
    raise ValueError(f'{path} needs the columns gm,{column}')
  upper = {n.upper(): n for n in schema.gm_index()}
  out = {}
  for i, row in enumerate(rows, start=2):
    given = row['gm'].strip()
    name = schema.get_gm(upper.get(given.upper(), given)).name
    if name in out:
      raise ValueError(f'{path}:{i}: {name} is listed twice')
    out[name] = row[column].strip()
  return out


def read_groups(path: str = '') -> dict[str, str]:
  """{GM: group} of ``path`` or, for '', the shipped face / non-face table."""
  if path:
    return read_table(path, 'group')
  text = resources.files('lgpn_jax.red140').joinpath(GROUP_TABLE).read_text()
  return {r['gm']: r['group'] for r in csv.DictReader(text.splitlines())}


def test_set_table(gms: str = 'red140', path: str = ''
                   ) -> tuple[dict[str, int], int]:
  """({GM: test set 0-4} of the selected GMs, number of GMs the user table
  left out (they are in no test set))."""
  if gms not in GM_SETS:
    raise ValueError(f'selection.gms must be one of {tuple(GM_SETS)}, got '
                     f'{gms!r}')
  names = [g.name for g in schema.gms()[:GM_SETS[gms]]]
  if not path:
    return {n: schema.get_gm(n).test_set for n in names}, 0
  given = read_table(path, 'test_set')
  outside = sorted(set(given) - set(names))
  if outside:
    raise ValueError(f'{path} lists GMs outside {gms}: {outside}')
  out = {}
  for n in names:
    value = given.get(n, '0')
    if value not in ('0', '1', '2', '3', '4'):
      raise ValueError(f'{path}: test_set of {n} must be 0-4, got {value!r}')
    out[n] = int(value)
  return out, len(names) - len(given)


def permutation(seed: int | None) -> np.ndarray | None:
  """The Random-GT permutation of the 140 label rows (None: no permutation)."""
  if seed is None:
    return None
  return np.random.default_rng(int(seed)).permutation(len(schema.gms()))


# ---------------------------------------------------------------- holdout
def holdout_bucket(images) -> np.ndarray:
  """[B] int in 0..99 per image, a fixed function of its 8-bit pixels.

  Images in [-1, 1] (the pipelines' range) go back to their 8-bit values;
  every ``HASH_STRIDE``-th row and column is hashed (blake2b), so the same
  decoded image lands in the same bucket in the training stream and in every
  evaluation pass.
  """
  x = np.asarray(images, np.float32)[:, ::HASH_STRIDE, ::HASH_STRIDE]
  q = np.clip(np.rint((x * 0.5 + 0.5) * 255.0), 0, 255).astype(np.uint8)
  return np.array([int.from_bytes(hashlib.blake2b(
      row.tobytes(), digest_size=8).digest(), 'little') % 100 for row in q],
      np.int32)


# -------------------------------------------------------------- selection
@dataclasses.dataclass(frozen=True)
class Selection:
  fold: int
  protocol: str                  # config.data.protocol ('paper' | 'released').
  gms: str                       # 'red140' | 'red116'.
  train: tuple[str, ...]         # GM names trained on.
  test: tuple[str, ...]          # unseen GM names evaluated.
  dropped: tuple[str, ...]       # held-out set GMs neither trained nor tested.
  holdout_percent: int
  permutation: tuple[int, ...] | None
  normalise_over: str
  uses_splits: bool              # the fold is a plain split expression.
  unlisted: int = 0              # GMs a user test-set table left out.
  universe: tuple[str, ...] = () # every GM of ``gms`` (140 or 116).

  # -- labels
  def labels(self) -> np.ndarray:
    """[140, 55] node labels each GM carries (permuted for Random-GT)."""
    table = schema.label_table()
    return table if self.permutation is None else table[list(self.permutation)]

  def continuous(self) -> tuple[np.ndarray, np.ndarray]:
    """(raw values [140, 9], mask [140, 9]) each GM carries."""
    values, mask = continuous.gm_table([g.name for g in schema.gms()])
    if self.permutation is None:
      return values, mask
    rows = list(self.permutation)
    return values[rows], mask[rows]

  def rows(self, names) -> list[int]:
    index = schema.gm_index()
    return [index[n] for n in names]

  def normaliser(self, method: str) -> continuous.Normaliser:
    names = self.train if self.normalise_over == 'train' else self.universe
    values, mask = self.continuous()
    rows = self.rows(names)
    return continuous.from_table(values[rows], mask[rows], method)

  def adjacency(self, tau: float) -> np.ndarray:
    """The correlation graph of the training GMs' labels (tau)."""
    return graphs.correlation_graph(self.labels()[self.rows(self.train)], tau)

  # -- data streams
  def source_table(self, names, real: bool) -> np.ndarray:
    """[141] class table of ``input_pipeline/task_data``: 1 for the named
    GMs (index gm_index + 1), 0 for real images when ``real``, -1 else."""
    t = np.full(NUM_SOURCES, -1, np.int32)
    t[np.asarray(self.rows(names), np.int64) + 1] = 1
    if real:
      t[0] = 0
    return t

  def held_out(self, images, gm_index) -> np.ndarray:
    """[B] bool: generated images kept out of training (never real ones)."""
    gen = np.asarray(gm_index) >= 0
    if not self.holdout_percent:
      return np.zeros(gen.shape, bool)
    return gen & (holdout_bucket(images) < self.holdout_percent)

  def remap(self, batch: Mapping) -> dict:
    """The batch with label, is_generated, continuous, continuous_mask and
    test_set taken from the selection's tables by ``gm_index`` (real images
    and padding, gm_index -1: zeros and is_generated 0)."""
    out = dict(batch)
    g = np.asarray(batch['gm_index'])
    gen = g >= 0
    safe = np.where(gen, g, 0)
    labels = self.labels()[safe] * gen[:, None]
    values, mask = self.continuous()
    out['label'] = labels.astype(np.float32)
    out['is_generated'] = gen.astype(np.int32)
    out['continuous'] = (values[safe] * gen[:, None]).astype(np.float32)
    out['continuous_mask'] = (mask[safe] * gen[:, None]).astype(np.float32)
    tests = np.array([schema.gms()[i].test_set for i in safe], np.int32)
    out['test_set'] = np.where(gen, tests, 0).astype(np.int32)
    return out

  def relabels(self) -> bool:
    """Whether batches need ``remap`` (labels permuted or not stored)."""
    return self.permutation is not None or not self.uses_splits


def get(fold: int, protocol: str = 'paper', *, gms: str = 'red140',
        test_sets: str = '', train_group: str = '', test_group: str = '',
        group_table: str = '', holdout_percent: int = 0,
        normalise_over: str = 'train', permutation_seed=None) -> Selection:
  """The Selection of ``fold`` (see the module doc for the arguments)."""
  folds.check_fold(fold, protocol)
  if not 0 <= int(holdout_percent) < 50:
    raise ValueError(f'selection.holdout_percent must be in [0, 50), got '
                     f'{holdout_percent}')
  if normalise_over not in NORMALISE_OVER:
    raise ValueError(f'selection.normalise_over must be one of '
                     f'{NORMALISE_OVER}, got {normalise_over!r}')
  sets, unlisted = test_set_table(gms, test_sets)
  removed = {g.name for g in schema.gms() if g.removed_from_test_in_paper}
  train, test, dropped = [], [], []
  for name, k in sets.items():
    if k != fold:
      train.append(name)
    elif (protocol == 'paper' and gms == 'red140' and not test_sets
          and name in removed):
      dropped.append(name)
    else:
      test.append(name)
  groups = read_groups(group_table) if (train_group or test_group) else {}
  for side, group in (('train', train_group), ('test', test_group)):
    if not group:
      continue
    known = sorted(set(groups.values()))
    if group not in known:
      raise ValueError(f'selection.{side}_group {group!r} is not a group of '
                       f'the group table (groups: {known})')
    kept = [n for n in (train if side == 'train' else test)
            if groups.get(n) == group]
    if side == 'train':
      train = kept
    else:
      test = kept
  for side, names in (('train', train), ('test', test)):
    if not names:
      raise ValueError(f'fold {fold}: the selection leaves no {side} GM '
                       f'(gms={gms}, train_group={train_group!r}, '
                       f'test_group={test_group!r})')
  perm = permutation(permutation_seed)
  plain = gms == 'red140' and not (test_sets or train_group or test_group)
  return Selection(fold, protocol, gms, tuple(train), tuple(test),
                   tuple(dropped), int(holdout_percent),
                   None if perm is None else tuple(int(i) for i in perm),
                   normalise_over, plain, unlisted, tuple(sets))


def from_config(config, fold: int | None = None,
                protocol: str | None = None) -> Selection:
  """The Selection of ``config`` for ``fold`` (default ``config.fold``) under
  ``protocol`` (default ``config.data.protocol``)."""
  sel, labels = settings(config)
  return get(int(config.fold if fold is None else fold),
             protocol or config.data.protocol,
             permutation_seed=labels['permutation_seed'], **sel)
