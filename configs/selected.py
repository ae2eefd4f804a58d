"""LGPN (configs/default.py) plus the ``selection`` and ``labels`` sections:
train and test on a chosen set of GMs, hold images out, or change labels.

  python train.py --config=configs/selected.py --workdir=runs/sel \
      --config.data.manual_dir=/path/to/RED140 --config.selection.gms=red116

The fields and their defaults (which reproduce configs/default.py exactly)
are documented in lgpn_jax/red140/selection.py and lgpn_jax/tasks/streams.py:
``selection.gms`` 'red140' | 'red116', ``selection.test_sets`` (a CSV of
test sets), ``selection.train_group`` / ``test_group`` / ``group_table``
(e.g. face / non-face), ``selection.holdout_percent`` (held-out images of
the training GMs), ``selection.normalise_over``; ``labels.permutation_seed``
(Random-GT), ``labels.mislabel_percent`` / ``mislabel_seed``. The configs
red116.py, face_nonface.py, random_gt.py, mislabelled.py and
coordinated_attack.py set them.
"""

import ml_collections

from configs import default
from lgpn_jax.red140 import selection


def add_sections(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """``config`` with the two sections at their defaults."""
  config.selection = ml_collections.ConfigDict(selection.SELECTION_DEFAULTS)
  labels = dict(selection.LABEL_DEFAULTS)
  labels['permutation_seed'] = ml_collections.config_dict.placeholder(int)
  config.labels = ml_collections.ConfigDict(labels)
  return config


def get_config():
  return add_sections(default.get_config())
