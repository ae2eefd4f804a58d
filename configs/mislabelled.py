"""Mislabelled training data (rebuttal R.8): p % of the generated training
images are relabelled as real images (no hyperparameter labels, real vs
generated label 0).

  python train.py --config=configs/mislabelled.py:5 --workdir=runs/mislabel5 \
      --config.data.manual_dir=/path/to/RED140 --config.fold=1
The argument is p (default 5; the rebuttal uses 0, 1, 5 and 8). The choice is
a hash of (labels.mislabel_seed, position in the stream): see
lgpn_jax/tasks/streams.py. Evaluation is unchanged.
"""

from configs import selected


def get_config(percent: str = '5'):
  config = selected.get_config()
  value = float(percent)
  if not 0 <= value <= 100:
    raise ValueError(f'mislabel percent must be in [0, 100], got {percent!r}')
  config.labels.mislabel_percent = value
  return config
