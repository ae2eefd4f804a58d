"""Fig. 5(b): the training objectives, added one at a time."""

from lgpn_jax.experiments import cells
from lgpn_jax.experiments.catalog import variants as v
from lgpn_jax.experiments.spec import Experiment, Row

EXPERIMENT = Experiment(
    name='fig5b_objectives',
    title='Fig. 5(b): objectives on RED140 (mean +- std over folds)',
    what=('Node classification alone (loss.hierarchy_weight = '
          'loss.artifact_weight = 0), plus the hierarchy constraint, plus '
          'artifact isolation (LGPN\'s full objective).'),
    rows=(Row('node loss only', v.NODE_ONLY),
          Row('+ hierarchy', v.NODE_HIERARCHY),
          Row('+ artifact isolation (LGPN)', v.LGPN)),
    columns=cells.PAPER, cells=cells.paper,
    notes=('The figure\'s values are not available; no reference row.',))
