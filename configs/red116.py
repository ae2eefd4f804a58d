"""LGPN under the RED116 protocol (FEN-PN's data set: the first 116 GMs of the
label table), as in Fig. 5(c), Supp. Tab. 9 and rebuttal R.1-R.3.

  python train.py --config=configs/red116.py --workdir=runs/red116 \
      --config.data.manual_dir=/path/to/RED140 --config.fold=1
  (--config.selection.test_sets=sets.csv: FEN-PN's test sets as a CSV
  gm,test_set; default: the label table's test sets restricted to the 116)

Trains on the fold's other RED116 GMs (plus real images), tests on the fold's
RED116 test GMs (nothing dropped), and normalises the continuous values over
the whole RED116 table as FEN-PN's ground-truth files are. The labels are
RED140's revision of the RED116 values (lgpn_jax/red140/README.md). The extra
metrics (P-value, correlation, R^2, slope) are in docs/EXPERIMENTS.md.
"""

from configs import selected


def get_config():
  config = selected.get_config()
  config.selection.gms = 'red116'
  config.selection.normalise_over = 'all'
  return config
