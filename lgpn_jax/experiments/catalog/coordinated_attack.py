"""Sec. 4.2, Tab. 4(a): coordinated-attack detection."""

from lgpn_jax.experiments import cells
from lgpn_jax.experiments.catalog import variants as v
from lgpn_jax.experiments.spec import Experiment, Row

EXPERIMENT = Experiment(
    name='coordinated_attack',
    title='Coordinated-attack detection, RED140 (mean +- std over folds)',
    what=('LGPN trained with 20 % of each training GM\'s images held out; '
          'pairs of images judged same-GM by the cosine similarity of the '
          'rebuttal\'s descriptor, threshold from validation pairs of '
          'held-out images; accuracy, AUC and Pd at 5 % false alarms on seen '
          '(held-out images of training GMs), unseen (test GMs) and mixed '
          'pairs (lgpn_jax/evaluation/parsing/attack.py).'),
    rows=(Row('LGPN', v.ATTACK),),
    columns=cells.ATTACK, cells=cells.attack,
    notes=('No reported numbers are available for this table.',),
    quick=(('selection.holdout_percent', 40),))
