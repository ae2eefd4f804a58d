"""Rebuttal R.10: the correlation-graph threshold tau."""

from lgpn_jax.experiments import cells, reported
from lgpn_jax.experiments.catalog import variants as v
from lgpn_jax.experiments.spec import Experiment, Row

EXPERIMENT = Experiment(
    name='tau_sensitivity',
    title='Sensitivity to tau, RED140 (mean +- std over folds)',
    what='LGPN with the correlation graph thresholded at tau 0.35-0.65.',
    rows=tuple(Row(f'tau {t}' + (' (LGPN)' if t == '0.45' else ''),
                   v.TAU[t]) for t in v.TAU),
    columns=cells.PAPER, cells=cells.paper,
    references=tuple(reported.red140_row(f'tau {t}', f'tau_{t}')
                     for t in v.TAU))
