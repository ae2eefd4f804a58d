"""Tab. 1's chance baseline: Random-GT beside LGPN."""

from lgpn_jax.experiments import cells, reported
from lgpn_jax.experiments.catalog import variants as v
from lgpn_jax.experiments.spec import Experiment, Row

EXPERIMENT = Experiment(
    name='random_gt',
    title='Random-GT chance baseline, RED140 (mean +- std over folds)',
    what=('LGPN trained and evaluated with the 140 label rows permuted over '
          'the GMs (seed 0; configs/random_gt.py): what a model learns from '
          'images alone when labels carry no information about them.'),
    rows=(Row('Random-GT', v.RANDOM_GT), Row('LGPN', v.LGPN)),
    columns=cells.PAPER, cells=cells.paper,
    references=(reported.red140_row('LGPN', 'gtc_gcn'),))
