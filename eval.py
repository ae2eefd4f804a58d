r"""Evaluate trained folds on their unseen test GMs (lgpn_jax/run.py: evaluate).

usage: python eval.py --config=configs/default.py --workdir=runs/lgpn --fold=1
       python eval.py --config=configs/default.py --workdir=runs/lgpn --all_folds
       python eval.py ... --fold=1 --num_images=12   # average 12 images per GM

Model parsing, per fold (<workdir>/fold<k>/ as train.py writes it): fits the
continuous regression stage on the fold's training images (regression.npz,
reused when present), scores the fold's test GMs (generated images only,
nothing dropped) and writes <workdir>/fold<k>/eval_fold<k>.json (with
--num_images=n > 1: eval_fold<k>_images<n>.json) and PNG plots in
<workdir>/fold<k>/plots/. The JSON holds loss / discrete F1 and accuracy,
per-node values, L1 per continuous hyperparameter, per-GM and
per-hyperparameter tables, coordinated-attack accuracy / AUC / Pd@5%FAR for
seen and unseen GMs, the majority-label baseline, every metric's
definition, the provenance (command line, config, data set and build
options, git commit, library versions, devices) and the timing; the
per-image test predictions go to <workdir>/fold<k>/test_predictions_fold<k>.npz
and the headline numbers to the fold's TensorBoard log (eval/). Each pass
prints its progress. --all_folds evaluates every fold<k> directory present,
then prints (with how many of the 4 folds it covers) and saves
(<workdir>/eval_all_folds.json) mean +- std over the folds in the paper's
layout; --aggregate_only only aggregates the JSONs already there. Detection /
attribution configs write <workdir>/fold<k>/eval_<task>.json.
Data: config.data names the built data set (give the --config.data.data_dir
the build used); settings: config.eval.
"""

import sys

from absl import flags

from lgpn_jax import cli


def define(fv, argv):
  cli.config_file(fv, argv)
  flags.DEFINE_string('workdir', None, 'Training work directory holding '
                      'fold<k>/.', flag_values=fv)
  flags.DEFINE_integer('fold', None, 'Fold to evaluate, 1-4 (default: '
                       'config.fold).', flag_values=fv)
  flags.DEFINE_bool('all_folds', False, 'Evaluate every fold<k> present in '
                    '--workdir and aggregate mean +- std.', flag_values=fv)
  flags.DEFINE_integer('num_images', None, 'Images averaged per prediction '
                       '(default: config.eval.num_images); groups are '
                       'consecutive images of one GM.', flag_values=fv)
  flags.DEFINE_bool('aggregate_only', False, 'With --all_folds: only '
                    'aggregate the eval JSONs already written.',
                    flag_values=fv)
  flags.DEFINE_bool('override_fold_config', False, "Evaluate with the command "
                    "line's config even where it disagrees with the fold's "
                    'saved config (the JSON lists the overridden fields).',
                    flag_values=fv)


def body(fv):
  cli.required(fv, 'config', 'workdir')
  from lgpn_jax import run
  run.evaluate(fv.config, fv.workdir, fold=fv.fold, all_folds=fv.all_folds,
               num_images=fv.num_images, aggregate_only=fv.aggregate_only,
               override_fold_config=fv.override_fold_config)
  return 0


def main(argv=None) -> int:
  return cli.run([sys.argv[0]] + list(sys.argv[1:] if argv is None else argv),
                 __doc__, define, body, compiles=True)


if __name__ == '__main__':
  sys.exit(main())
