"""LGPN for the coordinated-attack protocol (Sec. 4.2, Tab. 4(a)): 20 % of every
training GM's images are held out of training, so the "seen" GMs are tested
on images the model never saw (half of them choose the decision threshold).

  python train.py --config=configs/coordinated_attack.py --workdir=runs/attack \
      --config.data.manual_dir=/path/to/RED140 --config.fold=1
The evaluation JSON's ``coordinated_attack`` holds accuracy, AUC and Pd at
5 % false alarms for the seen, unseen and mixed pair sets
(lgpn_jax/evaluation/parsing/attack.py).
"""

from configs import selected


def get_config():
  config = selected.get_config()
  config.selection.holdout_percent = 20
  return config
