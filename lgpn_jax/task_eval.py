"""Evaluation of the classification tasks (detection, attribution).

``evaluate_task_fold(config, workdir, fold)`` restores the fold's latest
checkpoint (``<workdir>/fold{k}/``, as train.py writes it for any task),
classifies the test part of the task's images (lgpn_jax/tasks.py) on this
process's default device and writes ``<workdir>/fold{k}/eval_{task}.json``:
  task, fold, step, class_names, train_gms, test_gms, num_images, settings,
  definitions (lgpn_jax/task_metrics.py) and
  * detection: per_gm {GM: ap, accuracy, accuracy_generated, num_images},
    mean_ap, mean_accuracy, accuracy_real, num_real;
  * attribution: accuracy, per_class_accuracy, per_class_images, confusion
    (rows true, columns predicted) and ``plots/confusion_attribution.png``.
For these tasks the fold number only names the directory (the data
selection comes from ``config.task_data``, not from the RED140 folds).
"""

from __future__ import annotations

import json
import os

import jax
import ml_collections
import numpy as np

from lgpn_jax import checkpoint, plots, schema, task_metrics, tasks
from lgpn_jax.classifier import build_classifier


def json_name(task: str) -> str:
  return f'eval_{task}.json'


def predict(config, variables, builder, spec: tasks.TaskSpec) -> dict:
  """Softmax probabilities [n, C], class labels and gm_index of the test part."""
  from input_pipeline import task_data  # TensorFlow only here.
  cfg = ml_collections.ConfigDict(config.model.to_dict())
  cfg.bn_axis_name = None
  model = build_classifier(cfg, spec.num_classes)
  apply = jax.jit(lambda v, x: jax.nn.softmax(
      model.apply(v, x, None, train=False)['logits'], -1))
  batch_size = int(config.eval.batch_size or config.train.eval_batch_size)
  probs, labels, gms = [], [], []
  for batch in task_data.eval_batches(
      builder, spec.test_table, spec.test_by_hash, batch_size=batch_size,
      image_size=config.data.image_size,
      holdout_percent=config.task_data.holdout_percent):
    keep = batch['mask'] > 0
    p = np.asarray(apply(variables, batch['image']))
    probs.append(p[keep])
    labels.append(batch['class_label'][keep])
    gms.append(batch['gm_index'][keep])
  if not probs:
    raise RuntimeError('the task selects no test image in this build')
  return dict(probs=np.concatenate(probs), labels=np.concatenate(labels),
              gm_index=np.concatenate(gms))


def evaluate_task_fold(config, workdir: str, fold: int | None = None,
                       builder=None) -> str:
  """Evaluates a trained classification fold; returns the JSON path."""
  from lgpn_jax import trainer
  fold = int(config.fold if fold is None else fold)
  spec = tasks.spec(config)
  fold_dir = trainer.fold_directory(workdir, fold)
  variables, step = checkpoint.restore_for_inference(fold_dir)
  builder = builder if builder is not None else trainer.data_builder(config)
  out = predict(config, variables, builder, spec)
  names = [g.name for g in schema.gms()]
  report = dict(task=spec.task, fold=fold, step=int(step),
                class_names=list(spec.class_names),
                train_gms=list(spec.train_gms), test_gms=list(spec.test_gms),
                num_images=int(len(out['labels'])),
                settings=dict(holdout_percent=config.task_data.holdout_percent,
                              dataset=config.data.dataset,
                              image_size=config.data.image_size),
                definitions=task_metrics.DEFINITIONS)
  if spec.task == 'detection':
    report.update(task_metrics.detection_report(
        out['probs'][:, 1], out['gm_index'], names, spec.test_gms))
  else:
    report.update(task_metrics.attribution_report(
        out['probs'].argmax(-1), out['labels'], spec.class_names))
    if config.eval.plots:
      plots.confusion(report['confusion'], spec.class_names,
                      os.path.join(fold_dir, 'plots',
                                   'confusion_attribution.png'),
                      f'attribution, fold dir {fold}, step {step}: accuracy '
                      f'{report["accuracy"]:.3f}')
  path = os.path.join(fold_dir, json_name(spec.task))
  if jax.process_index() == 0:
    with open(path, 'w') as f:
      json.dump(report, f, indent=1)
  return path


def format_summary(report: dict) -> str:
  """One line of the headline numbers."""
  if report['task'] == 'detection':
    return (f'detection: mean AP {report["mean_ap"]:.4f}, mean accuracy '
            f'{report["mean_accuracy"]:.4f} over {len(report["per_gm"])} '
            f'test GMs ({report["num_images"]} images)')
  return (f'attribution: accuracy {report["accuracy"]:.4f} over '
          f'{len(report["class_names"])} classes ({report["num_images"]} '
          'images)')
