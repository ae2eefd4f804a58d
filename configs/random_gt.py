"""Random-GT, the chance baseline of Tab. 1: every GM carries the labels of
another GM (a fixed permutation of the 140 label rows), in training, in the
correlation graph and in evaluation; the images are unchanged.

  python train.py --config=configs/random_gt.py --workdir=runs/random_gt \
      --config.data.manual_dir=/path/to/RED140 --config.fold=1
The argument after ':' is the permutation seed (default 0).
"""

from configs import selected


def get_config(seed: str = '0'):
  config = selected.get_config()
  config.labels.permutation_seed = int(seed)
  return config
