"""Rebuttal R.8: p % of the generated training images relabelled as real."""

from lgpn_jax.experiments import cells, reported
from lgpn_jax.experiments.catalog import variants as v
from lgpn_jax.experiments.spec import Experiment, Row

EXPERIMENT = Experiment(
    name='mislabelled',
    title='Mislabelled training images, RED140 (mean +- std over folds)',
    what=('LGPN trained with p = 0, 1, 5, 8 % of the generated training '
          'images relabelled as real (lgpn_jax/tasks/streams.py).'),
    rows=tuple(Row(f'{p} % mislabelled', v.MISLABEL[p]) for p in v.MISLABEL),
    columns=cells.PAPER, cells=cells.paper,
    references=tuple(reported.red140_row(f'{p} % mislabelled',
                                         f'mislabel_{p}') for p in v.MISLABEL),
    notes=('Relabelling is decided per example of the training stream, not '
           'per stored image (the batches carry no image identity).',))
