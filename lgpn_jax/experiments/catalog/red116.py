"""Fig. 5(c), Supp. Tab. 9, rebuttal R.1-R.3: the RED116 protocol with
FEN-PN's metrics."""

from lgpn_jax.experiments import cells, reported
from lgpn_jax.experiments.catalog import variants as v
from lgpn_jax.experiments.spec import Experiment, Row

RANDOM_GT = 'Random-GT (RED116)'

EXPERIMENT = Experiment(
    name='red116',
    title='RED116 protocol with FEN-PN\'s metrics (mean +- std over folds)',
    what=('LGPN on FEN-PN\'s data set (the first 116 GMs), continuous values '
          'normalised over RED116, with P-value (against a Random-GT model '
          'trained the same way), correlation coefficient, coefficient of '
          'determination and slope beside F1, accuracy and L1; FEN-PN '
          '(configs/fenpn.py) trained and evaluated on the same folds.'),
    rows=(Row('LGPN', v.RED116), Row('FEN-PN', v.FENPN_RED116),
          Row(RANDOM_GT, v.RED116_RANDOM_GT)),
    columns=cells.RED116, cells=cells.red116(RANDOM_GT),
    references=tuple(reported.row(m, c, f'{reported.REBUTTAL} R.1-R.3')
                     for m, c in reported.RED116.items()),
    notes=('FEN-PN\'s test-set lists were not available: the default folds '
           'are the label table\'s test sets restricted to the 116 GMs; give '
           'yours with --override=selection.test_sets=FILE.csv (gm,test_set).',
           'P-value, correlation, determination and slope follow our reading '
           'of FEN-PN (lgpn_jax/evaluation/parsing/fenpn.py); both models\' '
           'P-values are against the one Random-GT LGPN.'))
