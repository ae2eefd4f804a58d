"""One vs two learnable pooling levels (the released code vs the paper)."""

from lgpn_jax.experiments import cells
from lgpn_jax.experiments.catalog import variants as v
from lgpn_jax.experiments.spec import Experiment, Row

EXPERIMENT = Experiment(
    name='pooling_levels',
    title='Pooling levels, RED140 (mean +- std over folds)',
    what=('GCN refinement with one pooling level (55 -> 18 -> 55, the '
          'released code) vs two (55 -> 18 -> 3 -> 18 -> 55, the paper).'),
    rows=(Row('one level (18)', v.ONE_LEVEL),
          Row('two levels (18, 3) (LGPN)', v.LGPN)),
    columns=cells.PAPER, cells=cells.paper,
    notes=('No reported numbers; the paper describes two levels.',))
