"""Supp. Tab. 8: 2, 3 or 4 range nodes per continuous hyperparameter.

Only 3 runs today. The stored TFRecords hold the raw continuous values, so
labels could be re-encoded for another number of bins, but the 55-node
schema is fixed throughout: ``red140.schema`` reads the 27 bin nodes from
nodes.csv, and the node count, the continuous node indices
(``inference.CONTINUOUS_NODES``, ``regression.continuous_node_indices``, which
requires 3 bins), the metric groups, the hierarchy targets and the stored
[55] labels all follow from it. Parameterising it means one schema object
passed to every one of those (docs/EXPERIMENTS.md lists them), not a copy.
"""

from lgpn_jax.experiments import cells
from lgpn_jax.experiments.catalog import variants as v
from lgpn_jax.experiments.spec import Experiment, Row

PENDING = ('{} bins per continuous hyperparameter need a schema with other '
           'node counts (see lgpn_jax/experiments/catalog/bins.py)')

EXPERIMENT = Experiment(
    name='bins',
    title='Range nodes per continuous hyperparameter, RED140 (mean +- std '
          'over folds)',
    what=('LGPN with 3 range nodes per continuous hyperparameter (the '
          'schema); 2 and 4 are pending a parameterised schema.'),
    rows=(Row('2 bins', pending=PENDING.format(2)),
          Row('3 bins (LGPN)', v.LGPN),
          Row('4 bins', pending=PENDING.format(4))),
    columns=cells.PAPER, cells=cells.paper)
