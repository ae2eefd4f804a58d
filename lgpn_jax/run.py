"""Composing training and evaluation: what train.py and eval.py run.

``train_and_evaluate(config, workdir)`` trains fold ``config.fold`` of the
config's task into ``<workdir>/fold<k>/`` (lgpn_jax/train), then evaluates it
(the task's evaluator, lgpn_jax/evaluation). ``evaluate(config, workdir,
...)`` evaluates trained folds and, for model parsing, aggregates them.
``train`` and ``evaluation`` never import each other; this module and the
task (lgpn_jax/tasks) connect them.
"""

from __future__ import annotations

import os
import time

import ml_collections

from lgpn_jax import data, files, fold_identity, rundir, tasks
from lgpn_jax.train import metric_writer, trainer


def train_and_evaluate(config: ml_collections.ConfigDict,
                       workdir: str) -> trainer.TrainResult:
  """Trains fold ``config.fold`` into ``<workdir>/fold{k}/``, then evaluates.

  Resumes from the fold's latest checkpoint if there is one. Evaluation runs
  when ``config.train.run_evaluation``.
  """
  task = tasks.get(config)
  fold_dir = os.path.abspath(rundir.fold_dir(workdir, config.fold))
  start = time.perf_counter()
  result = trainer.train(config, fold_dir, task)
  trainer.print_main(f'fold{config.fold}: trained to step {result.step} in '
         f'{metric_writer.format_duration(time.perf_counter() - start)}; '
         f'checkpoints in {rundir.checkpoint_dir(fold_dir)}')
  if config.train.run_evaluation and not result.preempted:
    path = task.evaluate_trained(workdir, config.fold)
    plots = rundir.plots_dir(os.path.dirname(os.fspath(path)))
    trainer.print_main(f'evaluation of fold {config.fold}: {path}' + (
        f'\nplots: {plots}' if os.path.isdir(plots) else ''))
    result.eval_path = path
  return result


def evaluate(config: ml_collections.ConfigDict, workdir: str, *,
             fold: int | None = None, all_folds: bool = False,
             num_images: int | None = None, aggregate_only: bool = False,
             builder=None, override_fold_config: bool = False) -> list[str]:
  """Evaluates fold ``fold`` (default ``config.fold``), or with
  ``all_folds`` every ``fold<k>`` directory present and then the aggregate
  over them (``aggregate_only``: only the aggregate). Prints each fold's
  summary line and the aggregate table; returns the JSON paths written.

  A fold whose saved config disagrees with ``config`` on what defines it
  (lgpn_jax/fold_identity.py) is refused, unless ``override_fold_config``:
  then ``config`` is used and the JSON lists the overridden fields."""
  task = tasks.get(config)
  if aggregate_only and not all_folds:
    raise ValueError('--aggregate_only needs --all_folds')
  if all_folds:
    ks = rundir.present_folds(workdir)
    if not ks and not aggregate_only:
      raise FileNotFoundError(f'no fold<k> directory in {workdir}: train '
                              'first (train.py --config.fold=k)')
  else:
    ks = [fold if fold is not None else int(config.fold)]
  paths = []
  if not aggregate_only:
    if builder is None and len(ks) > 1:
      builder = data.builder(config)   # opened once for every fold.
    for k in ks:
      fold_config = config.copy_and_resolve_references()
      with fold_config.unlocked():
        fold_config.fold = k
      diffs = fold_identity.check(fold_config, rundir.fold_dir(workdir, k),
                                  override=override_fold_config,
                                  action='evaluate')
      path = task.evaluate(workdir, k, builder=builder, num_images=num_images,
                           notes=dict(fold_config_overrides=[
                               dict(field=f, fold=a, used=b)
                               for f, a, b in diffs]) if diffs else None)
      print(f'fold {k}: {task.summary(files.read_json(path))}')
      print(f'saved {path}')
      paths.append(path)
  if all_folds:
    out = task.aggregate(workdir, num_images)
    if out is not None:
      agg, path = out
      print(agg['table_text'])
      print(f'saved {path}')
      paths.append(path)
  return paths
