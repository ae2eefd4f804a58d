r"""Evaluate trained LGPN folds on their unseen test GMs (RED140 protocol).

  python eval.py --config=configs/default.py --workdir=runs/lgpn --fold=1
  python eval.py --config=configs/default.py --workdir=runs/lgpn --all_folds
  python eval.py --config=configs/default.py --workdir=runs/lgpn --fold=1 \
      --num_images=12          # average 12 images' predictions per GM

Per fold (``<workdir>/fold{k}/`` as written by train.py): fits the continuous
regression stage on the fold's training images (``regression.npz``, reused
when present), scores the fold's test GMs (generated images only, nothing
dropped) and writes ``<workdir>/fold{k}/eval_fold{k}.json`` (with
``--num_images=n > 1``: ``eval_fold{k}_images{n}.json``) and PNG plots in
``<workdir>/fold{k}/plots/``. The JSON holds loss / discrete F1 and accuracy,
per-node values, L1 per continuous hyperparameter, per-GM and
per-hyperparameter tables, coordinated-attack accuracy / AUC / Pd@5%FAR for
seen and unseen GMs, the majority-label baseline, and every metric's
definition (lgpn_jax/metrics.py).

``--all_folds`` evaluates every ``fold{k}`` directory present, then prints
and saves (``<workdir>/eval_all_folds.json``) mean +- std over the folds in
the paper's layout: loss F1 / Acc | discrete F1 / Acc | continuous L1.
``--aggregate_only`` skips evaluation and aggregates the JSONs already there.
Data: ``config.data`` (dataset, data_dir, manual_dir) names the built data
set; evaluation settings are ``config.eval`` (configs/default.py).
"""

from __future__ import annotations

import os
import sys

from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

def present_folds(workdir: str) -> list[int]:
  from lgpn_jax import evaluate, folds
  return [k for k in range(1, folds.NUM_FOLDS + 1)
          if os.path.isdir(evaluate.fold_dir(workdir, k))]


def run(config, workdir: str, *, fold: int | None = None,
        all_folds: bool = False, num_images: int | None = None,
        aggregate_only: bool = False, builder=None) -> list[str]:
  """Evaluates as the flags ask; returns the JSON paths written."""
  from lgpn_jax import evaluate, tasks
  if tasks.is_classification(config):   # detection / attribution.
    return _run_task(config, workdir, fold=fold, all_folds=all_folds,
                     builder=builder)
  n = num_images or int(evaluate.settings(config)['num_images'])
  if aggregate_only and not all_folds:
    raise ValueError('--aggregate_only needs --all_folds')
  if all_folds:
    paths = []
    if not aggregate_only:
      ks = present_folds(workdir)
      if not ks:
        raise FileNotFoundError(f'no fold<k> directory in {workdir}: train '
                                'first (train.py --config.fold=k)')
      builder = builder if builder is not None else evaluate.open_builder(config)
      for k in ks:
        paths.append(evaluate.evaluate_fold(config, workdir, k, num_images=n,
                                            builder=builder))
        logging.info('fold %d written to %s', k, paths[-1])
    agg, path = evaluate.aggregate(workdir, n)
    print(agg['table_text'])
    print(f'saved {path}')
    return paths + [path]
  k = fold if fold is not None else int(config.fold)
  path = evaluate.evaluate_fold(config, workdir, k, num_images=n,
                                builder=builder)
  import json
  with open(path) as f:
    print(f'fold {k}: {evaluate.format_summary(json.load(f))}')
  print(f'saved {path}')
  return [path]



def _run_task(config, workdir: str, *, fold, all_folds, builder) -> list[str]:
  """Detection / attribution: ``<workdir>/fold{k}/eval_{task}.json``."""
  import json
  from lgpn_jax import task_eval
  ks = present_folds(workdir) if all_folds else [
      fold if fold is not None else int(config.fold)]
  paths = []
  for k in ks:
    paths.append(task_eval.evaluate_task_fold(config, workdir, k,
                                              builder=builder))
    with open(paths[-1]) as f:
      print(f'fold {k}: {task_eval.format_summary(json.load(f))}')
    print(f'saved {paths[-1]}')
  return paths


def define_flags() -> dict:
  """The command-line flags. Defined only when run as a script, so importing
  this module beside other entry points (tests) defines no absl flag."""
  return dict(
      config=config_flags.DEFINE_config_file(
          'config', None, 'Config file (ml_collections), e.g. '
          'configs/default.py; override fields with '
          '--config.eval.num_pairs=500 etc.', lock_config=True),
      workdir=flags.DEFINE_string(
          'workdir', None, 'Training work directory holding fold<k>/.'),
      fold=flags.DEFINE_integer(
          'fold', None, 'Fold to evaluate, 1-4 (default: config.fold).'),
      all_folds=flags.DEFINE_bool(
          'all_folds', False, 'Evaluate every fold<k> present in --workdir '
          'and aggregate mean +- std.'),
      num_images=flags.DEFINE_integer(
          'num_images', None, 'Images averaged per prediction (default: '
          'config.eval.num_images, 1); groups are consecutive images of one '
          'GM.'),
      aggregate_only=flags.DEFINE_bool(
          'aggregate_only', False, 'With --all_folds: only aggregate the '
          'eval JSONs already written.'))


def main(argv):
  flag = FLAGS
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  config = flag['config'].value
  if config is None or not flag['workdir'].value:
    raise app.UsageError('--config and --workdir are required')
  try:
    run(config, flag['workdir'].value, fold=flag['fold'].value,
        all_folds=flag['all_folds'].value, num_images=flag['num_images'].value,
        aggregate_only=flag['aggregate_only'].value)
  except (FileNotFoundError, ValueError, RuntimeError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  return 0


FLAGS = {}

if __name__ == '__main__':
  FLAGS.update(define_flags())
  app.run(main)
