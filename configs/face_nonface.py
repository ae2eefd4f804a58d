"""RED116 with training restricted to face or non-face GMs (rebuttal R.4).

  python train.py --config=configs/face_nonface.py:face --workdir=runs/face \
      --config.data.manual_dir=/path/to/RED140 --config.fold=1
The argument is the training group: 'face', 'non-face' or 'full' (default,
every GM). Evaluate on either group with
``python eval.py ... --config.selection.test_group=face``. Groups come from
lgpn_jax/red140/face_nonface.csv (a best-effort attribute per GM with its
basis), or your own CSV gm,group via --config.selection.group_table=FILE.
"""

from configs import red116

GROUPS = {'face': 'face', 'non-face': 'non-face', 'full': ''}


def get_config(train: str = 'full'):
  if train not in GROUPS:
    raise ValueError(f'train group must be one of {list(GROUPS)}, got '
                     f'{train!r}')
  config = red116.get_config()
  config.selection.train_group = GROUPS[train]
  return config
