"""Leave-one-set-out folds of RED140 under the paper's and the released protocol.

Fold k (1-4) tests on the GMs of test set k and trains on every other GM (the
other three sets and the GMs in no set); real images train in every fold.

* ``paper`` (default): the GMs the paper marks "(R)" are dropped from the test
  set they belong to, and are not trained on in that fold either (so the
  training GMs are the same under both protocols; only the test list shrinks).
* ``released``: the authors' code keeps them in the test sets.
"""

from __future__ import annotations

import dataclasses

from lgpn_jax.red140 import schema
NUM_FOLDS = 4
PROTOCOLS = ('paper', 'released')


@dataclasses.dataclass(frozen=True)
class Fold:
  fold: int
  protocol: str
  train: tuple[str, ...]    # GM names trained on.
  test: tuple[str, ...]     # unseen GM names evaluated.
  dropped: tuple[str, ...]  # held-out GMs neither trained nor tested on.


def check_fold(fold: int, protocol: str = 'paper') -> None:
  if fold not in range(1, NUM_FOLDS + 1):
    raise ValueError(f'fold must be 1..{NUM_FOLDS}, got {fold!r}')
  if protocol not in PROTOCOLS:
    raise ValueError(f'protocol must be one of {PROTOCOLS}, got {protocol!r}')


def get_fold(fold: int, protocol: str = 'paper') -> Fold:
  check_fold(fold, protocol)
  train, test, dropped = [], [], []
  for gm in schema.gms():
    if gm.test_set != fold:
      train.append(gm.name)
    elif protocol == 'paper' and gm.removed_from_test_in_paper:
      dropped.append(gm.name)
    else:
      test.append(gm.name)
  return Fold(fold, protocol, tuple(train), tuple(test), tuple(dropped))


def train_indices(fold: int, protocol: str = 'paper') -> list[int]:
  index = schema.gm_index()
  return [index[n] for n in get_fold(fold, protocol).train]
