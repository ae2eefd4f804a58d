"""Rebuttal R.5: k images of one GM per prediction, concatenated or averaged."""

from lgpn_jax.experiments import cells, reported
from lgpn_jax.experiments.catalog import variants as v
from lgpn_jax.experiments.spec import Evaluation, Experiment, Row

KS = (1, 4, 8, 12)

EXPERIMENT = Experiment(
    name='multi_image',
    title='k input images per prediction, RED140 (mean +- std over folds)',
    what=('One trained LGPN per fold, evaluated on groups of k = 1, 4, 8, 12 '
          'test images of one GM: the concatenation head (node features of '
          'the k images concatenated, a small head trained on frozen '
          'features; lgpn_jax/evaluation/parsing/multi_image.py) and '
          'averaging the k predictions (eval.py --num_images=k).'),
    rows=tuple(Row(f'concatenate {k}', v.LGPN, Evaluation('concat', k))
               for k in KS) +
         tuple(Row(f'average {k}', v.LGPN, Evaluation('average', k))
               for k in KS if k > 1) +
         (Row('single image (LGPN)', v.LGPN),),
    columns=cells.PAPER, cells=cells.paper,
    references=tuple(reported.red140_row(f'{k} image(s)', f'images_{k}')
                     for k in KS),
    notes=('The rebuttal\'s method is the concatenation; its head is not '
           'described, ours is our choice (models/concat_head.py).',))
