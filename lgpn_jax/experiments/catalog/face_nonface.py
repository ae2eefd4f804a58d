"""Rebuttal R.4: face vs non-face GMs of RED116, train on face / non-face /
full, test on face / non-face."""

from lgpn_jax.experiments import cells, reported
from lgpn_jax.experiments.catalog import variants as v
from lgpn_jax.experiments.spec import Evaluation, Experiment, Row

PAIRS = tuple((test, train) for test in ('face', 'non-face')
              for train in ('face', 'non-face', 'full'))

EXPERIMENT = Experiment(
    name='face_nonface',
    title='Face vs non-face GMs of RED116 (mean +- std over folds)',
    what=('Three RED116 models per fold and method (LGPN, FEN-PN; trained on '
          'face GMs, on non-face GMs, on all), each tested on the fold\'s face and non-face test '
          'GMs. Groups: lgpn_jax/red140/face_nonface.csv (best effort) or '
          'your table via --override=selection.group_table=FILE.csv.'),
    rows=tuple(Row(f'test {test}, train {train}: {method}', trained[train],
                   Evaluation('test_group', test_group=test))
               for test, train in PAIRS
               for method, trained in (('LGPN', v.RED116_TRAIN),
                                       ('FEN-PN', v.FENPN_TRAIN))),
    columns=cells.FACE, cells=cells.face,
    references=tuple(
        reported.row(f'test {test}, train {train}: {method}', c,
                     f'{reported.REBUTTAL} R.4')
        for test, train in PAIRS
        for method, c in reported.FACE_NONFACE[(test, train)].items()),
    notes=('The face / non-face attribute of each GM is our best-effort '
           'reading of what it was trained on (column basis of the table); '
           'FEN-PN\'s own split was not available.',))
