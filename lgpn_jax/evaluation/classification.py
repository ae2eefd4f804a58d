"""Evaluation of the classification tasks (detection, attribution).

``evaluate_fold(config, workdir, fold, spec, report)`` restores the fold's
latest checkpoint (``<workdir>/fold{k}/``), classifies the test part of the
task's images (``spec``: the task's source tables, lgpn_jax/tasks/
classification.py) with the shared inference code, and writes
``<workdir>/fold{k}/eval_{task}.json``:
  task, fold, step, class_names, train_gms, test_gms, num_images, settings,
  definitions (classification_metrics.py), provenance
  (``report_provenance``) and what ``report`` adds:
  * ``detection_report``: per_gm {GM: ap, accuracy, accuracy_generated,
    num_images}, mean_ap, mean_accuracy, accuracy_real, num_real;
  * ``attribution_report``: accuracy, per_class_accuracy, per_class_images,
    confusion (rows true, columns predicted) and
    ``plots/confusion_attribution.png``.
For these tasks the fold number only names the directory (the data
selection comes from ``config.task_data``, not from the RED140 folds).
"""

from __future__ import annotations

import os
from typing import Callable

import jax
import ml_collections

from lgpn_jax import checkpoint, data, files, rundir
from lgpn_jax.evaluation import classification_metrics as task_metrics
from lgpn_jax.evaluation import inference, plots, progress, report_provenance
from lgpn_jax.models.build import build_classifier
from lgpn_jax.red140 import schema


def predict(config, variables, builder, spec) -> dict:
  """Softmax probabilities [n, C], class labels and gm_index of the test part."""
  from input_pipeline import task_data  # TensorFlow only here.
  cfg = ml_collections.ConfigDict(config.model.to_dict())
  cfg.bn_axis_name = None
  model = build_classifier(cfg, spec.num_classes)
  predictor = inference.Predictor(model, variables, None,
                                  outputs=inference.class_probabilities)
  batch_size = int(config.eval.batch_size or config.train.eval_batch_size)
  out = inference.collect(inference.iterate(predictor, progress.batches(
      task_data.eval_batches(
          builder, spec.test_table, spec.test_by_hash, batch_size=batch_size,
          image_size=config.data.image_size,
          holdout_percent=config.task_data.holdout_percent),
      f'{spec.task}: test images')))
  if 'probabilities' not in out:
    raise RuntimeError('the task selects no test image in this build')
  return dict(probs=out['probabilities'], labels=out['class_label'],
              gm_index=out['gm_index'])


def detection_report(out: dict, spec, config, fold_dir: str, step: int):
  del config, fold_dir, step
  names = [g.name for g in schema.gms()]
  return task_metrics.detection_report(out['probs'][:, 1], out['gm_index'],
                                       names, spec.test_gms)


def attribution_report(out: dict, spec, config, fold_dir: str, step: int):
  report = task_metrics.attribution_report(
      out['probs'].argmax(-1), out['labels'], spec.class_names)
  if config.eval.plots:
    plots.confusion(report['confusion'], spec.class_names,
                    os.path.join(rundir.plots_dir(fold_dir),
                                 'confusion_attribution.png'),
                    f'attribution, fold dir {rundir.fold_of(fold_dir)}, step '
                    f'{step}: accuracy {report["accuracy"]:.3f}')
  return report


def evaluate_fold(config, workdir: str, fold: int, spec,
                  report_fn: Callable, builder=None, notes=None) -> str:
  """Evaluates a trained classification fold; returns the JSON path."""
  fold = int(fold)
  fold_dir = rundir.fold_dir(workdir, fold)
  variables, step = checkpoint.restore_for_inference(fold_dir)
  builder = builder if builder is not None else data.builder(config)
  out = predict(config, variables, builder, spec)
  report = dict(task=spec.task, fold=fold, step=int(step),
                class_names=list(spec.class_names),
                train_gms=list(spec.train_gms), test_gms=list(spec.test_gms),
                num_images=int(len(out['labels'])),
                settings=dict(holdout_percent=config.task_data.holdout_percent,
                              dataset=config.data.dataset,
                              image_size=config.data.image_size),
                definitions=task_metrics.DEFINITIONS)
  report.update(report_fn(out, spec, config, fold_dir, step))
  report.update(notes or {})
  path = rundir.task_eval_path(workdir, fold, spec.task)
  if jax.process_index() == 0:
    report['provenance'] = report_provenance.block(config, builder)
    files.write_json(report, path)
  return path


def detection_summary(report: dict) -> str:
  return (f'detection: mean AP {report["mean_ap"]:.4f}, mean accuracy '
          f'{report["mean_accuracy"]:.4f} over {len(report["per_gm"])} '
          f'test GMs ({report["num_images"]} images)')


def attribution_summary(report: dict) -> str:
  return (f'attribution: accuracy {report["accuracy"]:.4f} over '
          f'{len(report["class_names"])} classes ({report["num_images"]} '
          'images)')
