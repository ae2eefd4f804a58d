"""What an experiment is: trained variants, evaluations of them, table rows.

  * ``Variant``: one model trained per fold, a config file of ``configs/``
    (``'tau:0.35'`` = configs/tau.py with argument 0.35) plus field
    overrides; its folds train into ``<workdir>/<variant name>/fold<k>/``.
    A name means one config everywhere (``tests/experiments`` checks it), so
    experiments run in one workdir share their common variants (``lgpn``).
  * ``Evaluation``: what is scored from a variant's trained folds: the
    standard evaluation (what training writes), averaging ``num_images``
    images, the concatenation head with ``num_images`` images, or another
    test group (``selection.test_group``).
  * ``Row``: a table row, a variant and an evaluation, or a pending row
    naming what the project cannot build yet.
  * ``Experiment``: rows, table columns, the cells of a row from its fold
    reports, and the reference rows (``reported.py``).
``build_config(variant, size, fold, overrides)`` makes a variant's config at
a size: 'full' is the config as written (RED140 at 256x256, its training
recipe as configs/default.py gives it); 'quick' shrinks its model
with configs/tiny.py's ``shrink`` (same structure, tiny widths) and trains it
on the built-in synthetic data for a few steps (``QUICK``), for CPU smoke
runs and CI.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
from typing import Any, Callable, Mapping, Sequence

import ml_collections

from lgpn_jax import rundir
from lgpn_jax.evaluation import tables

SIZES = ('quick', 'full')
EVAL_KINDS = ('standard', 'average', 'concat', 'test_group')
FULL_FOLDS = (1, 2, 3, 4)
QUICK_FOLDS = (1,)
# The quick size: synthetic 32x32 images, 12 per GM (the multi-image
# experiment groups up to 12), QUICK_STEPS steps counted in steps
# (configs/default.py: step_based), plots off.
QUICK_STEPS = 30
QUICK = {
    'data.dataset': 'synthetic', 'data.image_size': 32,
    'data.images_per_gm': 12, 'data.num_real': 96,
    'train.batch_size': 16, 'train.learning_rate': 1e-3,
    'train.lr_decay_steps': 1000, 'train.warmup_steps': 0,
    'train.log_every': 10, 'train.checkpoint_every': QUICK_STEPS,
    'train.eval_batch_size': 64,
    'eval.num_pairs': 200, 'eval.plots': False,
    'multi_image.steps': 60, 'multi_image.batch_size': 16,
    'multi_image.hidden': 16, 'multi_image.max_images_per_gm': 12,
}


@dataclasses.dataclass(frozen=True)
class Variant:
  name: str
  config: str                                  # 'default', 'tau:0.35', ...
  overrides: tuple[tuple[str, Any], ...] = ()


@dataclasses.dataclass(frozen=True)
class Evaluation:
  kind: str = 'standard'
  num_images: int = 1
  test_group: str = ''

  def __post_init__(self):
    if self.kind not in EVAL_KINDS:
      raise ValueError(f'evaluation kind must be one of {EVAL_KINDS}')

  @property
  def tag(self) -> str:
    if self.kind == 'concat':
      return 'concat'
    if self.kind == 'test_group':
      return f'test-{self.test_group}'
    return ''

  def path(self, variant_dir: str, fold: int) -> str:
    """The evaluation JSON of ``fold`` under a variant's directory."""
    return rundir.eval_path(variant_dir, fold, self.num_images, self.tag)


STANDARD = Evaluation()


@dataclasses.dataclass(frozen=True)
class Row:
  label: str
  variant: Variant | None = None
  evaluation: Evaluation = STANDARD
  pending: str = ''               # why the row cannot run yet.

  def __post_init__(self):
    if (self.variant is None) == (not self.pending):
      raise ValueError(f'row {self.label!r}: give a variant or say why it is '
                       'pending')


# cells(row, {fold: report}, {row label: {fold: report}}) -> {column: cell}
CellFn = Callable[[Row, Mapping[int, Mapping], Mapping[str, Mapping]], dict]


@dataclasses.dataclass(frozen=True)
class Experiment:
  name: str
  title: str
  what: str                           # one paragraph: what it reproduces.
  rows: tuple[Row, ...]
  columns: tuple[tables.Column, ...]
  cells: CellFn
  references: tuple[tables.Row, ...] = ()
  notes: tuple[str, ...] = ()
  quick: tuple[tuple[str, Any], ...] = ()   # extra quick-size overrides.

  def variants(self) -> list[Variant]:
    """The trained variants, in row order, each once."""
    out = []
    for row in self.rows:
      if row.variant is not None and row.variant not in out:
        out.append(row.variant)
    return out

  def evaluations(self, variant: Variant) -> list[Evaluation]:
    return list(dict.fromkeys(r.evaluation for r in self.rows
                              if r.variant == variant))

  def folds(self, size: str) -> tuple[int, ...]:
    return QUICK_FOLDS if size == 'quick' else FULL_FOLDS


# ------------------------------------------------------------------ configs
def set_field(config: ml_collections.ConfigDict, path: str, value) -> None:
  """``config.<path> = value``, creating missing sections (quick-size fields
  of sections a config lacks, e.g. ``multi_image``)."""
  *parents, leaf = path.split('.')
  node = config
  for p in parents:
    if p not in node:
      node[p] = ml_collections.ConfigDict()
    node = node[p]
  node[leaf] = tuple(value) if isinstance(value, list) else value


def parse_override(text: str) -> tuple[str, Any]:
  """'a.b=value' -> ('a.b', value); the value as a Python literal when it
  parses as one, else the string."""
  key, sep, raw = text.partition('=')
  if not sep or not key.strip():
    raise ValueError(f'override {text!r} is not field=value')
  try:
    value = ast.literal_eval(raw)
  except (ValueError, SyntaxError):
    value = raw
  return key.strip(), value


def load_config(name: str) -> ml_collections.ConfigDict:
  """configs/<module>.py's get_config(argument) for 'module[:argument]'."""
  module, _, arg = name.partition(':')
  try:
    mod = importlib.import_module(f'configs.{module}')
  except ModuleNotFoundError as e:
    raise ModuleNotFoundError(f'no config configs/{module}.py (run from the '
                              'repository root)') from e
  return mod.get_config(arg) if arg else mod.get_config()


def build_config(variant: Variant, size: str, fold: int,
                 overrides: Sequence[tuple[str, Any]] = (),
                 quick: Sequence[tuple[str, Any]] = ()
                 ) -> ml_collections.ConfigDict:
  """The config of ``variant``'s fold at ``size``; ``overrides`` (the user's,
  e.g. data locations) come last, ``quick`` (the experiment's quick-size
  overrides) after the quick size."""
  if size not in SIZES:
    raise ValueError(f'size must be one of {SIZES}, got {size!r}')
  config = load_config(variant.config)
  for key, value in variant.overrides:
    set_field(config, key, value)
  if size == 'quick':
    importlib.import_module('configs.tiny').shrink(config)
    importlib.import_module('configs.default').step_based(config.train,
                                                          QUICK_STEPS)
    for key, value in list(QUICK.items()) + list(quick):
      set_field(config, key, value)
  for key, value in overrides:
    set_field(config, key, value)
  config.fold = int(fold)
  return config
