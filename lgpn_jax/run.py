"""Composing training and evaluation: what train.py, eval.py and predict.py
run.

``train_and_evaluate(config, workdir)`` trains fold ``config.fold`` of the
config's task into ``<workdir>/fold<k>/`` (lgpn_jax/train), then evaluates it
(the task's evaluator, lgpn_jax/evaluation) and ends with the result table
(the model against the majority-label baseline) and what to do next.
``evaluate(config, workdir, ...)`` evaluates trained folds and, for model
parsing, aggregates them. ``predict(...)`` / ``prediction(...)`` answer for
images with a fold's model, built by the fold's task. ``dry_run(config)``
describes a run without training. The config goes to TensorBoard as text
before training, each evaluation's headline numbers as ``eval/`` scalars
after it. ``train`` and ``evaluation`` never import each other; this module
and the task (lgpn_jax/tasks) connect them.
"""

from __future__ import annotations

import math
import os
import time
from typing import Mapping

import ml_collections

from lgpn_jax import data, files, fold_identity, rundir, tasks
from lgpn_jax.train import dry_run as dry_run_lib
from lgpn_jax.train import metric_writer, trainer


def check_inputs(config: ml_collections.ConfigDict, task,
                 fold_dir: str) -> None:
  """What fails later fails now, before anything compiles or is written: the
  fold and protocol (the fold's graph), the task's settings, the fold's
  identity (an existing fold trained with another config; a fold made from
  imported weights, which has no optimizer state to resume), and the data
  set (its name, and that it is built or can be built)."""
  task.adjacency()
  task.check()
  imported = rundir.imported_weights_path(fold_dir)
  if os.path.exists(imported):
    raise ValueError(f'{fold_dir} holds imported weights ({imported}): it '
                     'has no optimizer state to resume training from; train '
                     'into another --workdir (eval.py and predict.py use '
                     'this fold as it is)')
  fold_identity.check(config, fold_dir, action='train')
  data.builder(config)


def train_and_evaluate(config: ml_collections.ConfigDict,
                       workdir: str) -> trainer.TrainResult:
  """Trains fold ``config.fold`` into ``<workdir>/fold{k}/``, then evaluates.

  Resumes from the fold's latest checkpoint if there is one. Evaluation runs
  when ``config.train.run_evaluation``.
  """
  task = tasks.get(config)
  fold_dir = os.path.abspath(rundir.fold_dir(workdir, config.fold))
  check_inputs(config, task, fold_dir)
  if trainer.is_main_process():
    metric_writer.log_config(fold_dir, config)
  start = time.perf_counter()
  result = trainer.train(config, fold_dir, task)
  trainer.print_main(f'fold{config.fold}: trained to step {result.step} in '
         f'{metric_writer.format_duration(time.perf_counter() - start)}; '
         f'checkpoints in {rundir.checkpoint_dir(fold_dir)}')
  if config.train.run_evaluation and not result.preempted:
    path = task.evaluate_trained(workdir, config.fold)
    result.eval_path = path
    if trainer.is_main_process():
      report = files.read_json(path)
      metric_writer.log_evaluation(fold_dir, report)
      print(summary_table(report) or task.summary(report))
      print(f'saved {path}')
  if not result.preempted:
    trainer.print_main(what_next(workdir, config.fold, result.eval_path))
  return result


def _cell(key: str, value) -> str:
  if value is None or not math.isfinite(value):
    return 'n/a'
  return f'{value:.3f}' if key.endswith('l1') else f'{100 * value:.1f}'


def _label(key: str) -> str:
  return (key.replace('continuous_bin', 'bin').replace('_accuracy', ' Acc')
          .replace('_f1', ' F1').replace('_l1', ' L1').replace('_', ' '))


def summary_table(report: Mapping) -> str | None:
  """A fold report's ``summary`` against its majority baseline as an aligned
  table (None for reports without both)."""
  model = report.get('summary')
  base = report.get('baseline_majority', {}).get('summary')
  if not model or not base:
    return None
  keys = list(model)
  rows = [['', *map(_label, keys)],
          ['model', *(_cell(k, model[k]) for k in keys)],
          ['majority baseline', *(_cell(k, base.get(k)) for k in keys)]]
  widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
  lines = ['  '.join([r[0].ljust(widths[0])] + [c.rjust(w) for c, w in
                                                zip(r[1:], widths[1:])])
           for r in rows]
  head = (f'fold {report.get("fold")}, {report.get("num_generated_images")} '
          f'generated test images of GMs unseen in training, checkpoint step '
          f'{report.get("checkpoint_step")}:')
  return '\n'.join([head] + lines + [
      'F1 / Acc in %, higher is better; L1 of normalised values, lower is '
      'better'])


def what_next(workdir: str, fold: int, eval_path: str | None) -> str:
  """The commands that use what this run left behind."""
  fdir = rundir.fold_dir(workdir, fold)
  lines = ['next:',
           f'  python predict.py --workdir={workdir} --fold={fold} '
           '--image=PATH_OR_FOLDER   # parse your own images',
           f'  tensorboard --logdir={workdir}   # training curves, config, '
           'evaluation']
  if eval_path is not None and os.path.isdir(rundir.plots_dir(fdir)):
    lines.append(f'  plots: {rundir.plots_dir(fdir)}')
  lines.append(f'  python export.py --workdir={workdir} --fold={fold}   # '
               'the model as a StableHLO file')
  return '\n'.join(lines)


def dry_run(config: ml_collections.ConfigDict, workdir: str) -> str:
  """What a training run of ``config`` in ``workdir`` would be (see
  train/dry_run.py); the same checks as a run's, nothing written."""
  task = tasks.get(config)
  check_inputs(config, task, rundir.fold_dir(workdir, config.fold))
  return dry_run_lib.describe(config, task, data.builder(config))


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
      report = files.read_json(path)
      if trainer.is_main_process():
        metric_writer.log_evaluation(rundir.fold_dir(workdir, k), report)
      print(f'fold {k}: {task.summary(report)}')
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


def _fold_builder(config, workdir: str, fold: int | None):
  """(fold, the model builder of the fold's task) for prediction."""
  from lgpn_jax.evaluation import predict as predict_lib
  fold = predict_lib.fold_to_use(workdir, fold)
  task = tasks.get(predict_lib.fold_config(rundir.fold_dir(workdir, fold),
                                           config))
  if not task.parses_models:
    raise ValueError(f'fold {fold} of {workdir} was trained for {task.name}: '
                     'predict parses models; evaluate it with eval.py')
  return fold, task.build_model


def prediction(workdir: str, images, *, fold: int | None = None,
               config: ml_collections.ConfigDict | None = None,
               **options) -> dict:
  """The report of ``images`` (a file, a folder or a list of files) by the
  model of ``<workdir>/fold<k>``, built by the fold's task (LGPN or
  FEN-PN); ``evaluation.predict.predict`` documents the options."""
  from lgpn_jax.evaluation import predict as predict_lib
  fold, build = _fold_builder(config, workdir, fold)
  return predict_lib.predict(workdir, images, fold=fold, config=config,
                             build=build, **options)


def predict(config: ml_collections.ConfigDict | None, workdir: str,
            fold: int | None, image: str, **options) -> int:
  """predict.py: prints the report of ``image`` (see ``prediction``); the
  options go to ``evaluation.predict.run``. Returns the exit status."""
  from lgpn_jax.evaluation import predict as predict_lib
  fold, build = _fold_builder(config, workdir, fold)
  return predict_lib.run(config, workdir, fold, image, build=build, **options)
