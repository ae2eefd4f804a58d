"""Split names of the built data sets and the fold -> split-expression helper.

Every builder (RED140 and synthetic) writes one split per test set, so that any
leave-one-set-out fold is a plain TFDS split expression (``'set0+set2+real'``):

  * ``set0``: the GMs in no test set (always trained on);
  * ``set1`` .. ``set4``: the GMs of test set k that the paper keeps;
  * ``set1_removed`` .. ``set4_removed``: the GMs of test set k that the paper
    marks "(R)" (BIGGAN_128, FASTPIXEL, ...);
  * ``real``: real images (gm_index -1, all-zero node label).

Fold k, protocol 'paper' (default): test = ``setk``; train = ``set0``, ``real``
and every other set with its ``_removed`` part. ``setk_removed`` is neither
trained nor tested on, exactly as ``lgpn_jax.red140.folds.get_fold`` lists it under
``dropped``. Protocol 'released': test = ``setk+setk_removed``, same train.
No filtering happens at read time: the split expression is the whole story.
"""

from __future__ import annotations

from typing import Collection

from lgpn_jax.red140 import folds, schema
REAL = 'real'


def split_of(gm_name: str | None) -> str:
  """The split a GM's images go to (``None`` = real images)."""
  if gm_name is None:
    return REAL
  gm = schema.get_gm(gm_name)
  if gm.test_set == 0:
    return 'set0'
  suffix = '_removed' if gm.removed_from_test_in_paper else ''
  return f'set{gm.test_set}{suffix}'


def all_splits() -> tuple[str, ...]:
  """Every split name a complete build has, in a fixed order."""
  names = ['set0']
  for k in range(1, folds.NUM_FOLDS + 1):
    names += [f'set{k}', f'set{k}_removed']
  return tuple(names) + (REAL,)


def fold_split_names(fold: int, protocol: str = 'paper'
                     ) -> tuple[list[str], list[str]]:
  """(train split names, test split names) of a fold; see the module doc."""
  folds.check_fold(fold, protocol)
  train = ['set0']
  for k in range(1, folds.NUM_FOLDS + 1):
    if k != fold:
      train += [f'set{k}', f'set{k}_removed']
  train.append(REAL)
  test = [f'set{fold}']
  if protocol == 'released':
    test.append(f'set{fold}_removed')
  return train, test


def fold_splits(fold: int, protocol: str = 'paper',
                available: Collection[str] | None = None) -> tuple[str, str]:
  """(train_split_expr, test_split_expr) of leave-one-set-out fold 1-4.

  ``available``: the split names a build actually has (a TFDS build has no
  empty splits, so a partial RED140 download may lack some); missing ones are
  left out of the expressions. Raises ValueError when a side ends up empty.
  """
  train, test = fold_split_names(fold, protocol)
  if available is not None:
    train = [s for s in train if s in available]
    test = [s for s in test if s in available]
  for side, names in (('train', train), ('test', test)):
    if not names:
      raise ValueError(f'fold {fold} ({protocol}): no {side} split in this '
                       f'build (available: {sorted(available or ())})')
  return '+'.join(train), '+'.join(test)


def parse_expr(expr: str) -> list[str]:
  """Split names of a ``'a+b+c'`` expression (whole splits only, no slices)."""
  names = [s.strip() for s in expr.split('+')]
  for s in names:
    if not s or '[' in s or s not in all_splits():
      raise ValueError(f'bad split {s!r} in {expr!r}: use whole splits from '
                       f'{all_splits()} joined by "+"')
  if len(set(names)) != len(names):
    raise ValueError(f'split expression {expr!r} names a split twice')
  return names
