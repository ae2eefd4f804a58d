"""Tab. 2(b): continuous L1 per hyperparameter, LGPN vs GTC + MLP."""

from lgpn_jax.experiments import cells, reported
from lgpn_jax.experiments.catalog import variants as v
from lgpn_jax.experiments.spec import Experiment, Row

EXPERIMENT = Experiment(
    name='tab2b_per_hyperparameter',
    title='Tab. 2(b): L1 per continuous hyperparameter (mean +- std over '
          'folds)',
    what=('Each continuous hyperparameter\'s L1 error (normalised values) '
          'averaged over the folds, for LGPN and GTC + MLP (the same trained '
          'folds as tab2a_heads).'),
    rows=(Row('GTC + GCN refinement (LGPN)', v.LGPN),
          Row('GTC + MLP', v.GTC_MLP)),
    columns=cells.PER_HYPERPARAMETER, cells=cells.per_hyperparameter,
    references=(reported.row('LGPN', reported.TAB2B['lgpn'],
                             reported.TAB2B_SOURCE),
                reported.row('GTC + MLP', reported.TAB2B['gtc_mlp'],
                             reported.TAB2B_SOURCE)),
    notes=('The paper\'s text names layer num, parameter num, conv layer num '
           'and filter num; we read them as the layers, params, conv_layers '
           'and filters columns.',))
