"""Training logs: metrics.jsonl, TensorBoard and a console progress line.

``MetricWriter(fold_dir)`` appends one JSON object per call to
``<fold_dir>/metrics.jsonl`` and writes the same scalars to
``<fold_dir>/tensorboard/`` with tensorboardX (TensorFlow is not imported
outside input_pipeline/). Only process 0 writes; other processes get a writer
that does nothing. TensorBoard tags are grouped (``tag``): ``perf/`` for
throughput, timing and size figures, ``train/`` for losses, accuracies,
norms and the learning rate; the JSON keys stay plain.

``log_config(fold_dir, config)`` adds the config as text (``config/json``)
and as a table of every field (``config/hyperparameters``);
``log_evaluation(fold_dir, report)`` adds an evaluation JSON's headline
numbers as ``eval/`` scalars at its checkpoint step, so one TensorBoard
shows training and its result.
"""

from __future__ import annotations

import json
import math
import os
from typing import Mapping

from lgpn_jax import files, rundir


PERF_KEYS = frozenset((
    'images_per_second', 'seconds_per_step', 'data_seconds_per_step',
    'first_step_seconds', 'forward_flops_per_image',
    'forward_matmul_flops_per_image', 'num_params', 'devices', 'processes',
    'global_batch'))


def tag(name: str) -> str:
  """The TensorBoard tag of a logged scalar (names with a '/' are kept)."""
  if '/' in name:
    return name
  return f'{"perf" if name in PERF_KEYS else "train"}/{name}'


def _is_number(v) -> bool:
  return isinstance(v, (int, float)) and not isinstance(v, bool)


class MetricWriter:
  """Writes {name: number} dicts at a step to jsonl and TensorBoard."""

  def __init__(self, fold_dir: str, enabled: bool = True,
               tensorboard: bool = True, resume_step: int | None = None):
    """``resume_step``: the step a resumed run starts from; rows logged after
    it by an interrupted run (they will be logged again) are dropped from
    metrics.jsonl and TensorBoard, so each step has one row."""
    self.enabled = enabled
    self._jsonl = None
    self._tb = None
    if not enabled:
      return
    os.makedirs(fold_dir, exist_ok=True)
    self.path = rundir.metrics_path(fold_dir)
    if resume_step is not None and os.path.exists(self.path):
      keep = [r for r in read_metrics(fold_dir) if r['step'] <= resume_step]
      files.write_text(''.join(json.dumps(r) + '\n' for r in keep),
                       self.path)
    self._jsonl = open(self.path, 'a')
    if tensorboard:
      self._tb = _summary_writer(
          fold_dir, 'train',
          purge_step=None if resume_step is None else resume_step + 1)

  def write(self, step: int, scalars: Mapping[str, float | int | str]):
    if not self.enabled:
      return
    row = {'step': int(step)}
    row.update({k: _jsonable(v) for k, v in scalars.items()})
    self._jsonl.write(json.dumps(row) + '\n')
    self._jsonl.flush()
    if self._tb is not None:
      for k, v in scalars.items():
        if _is_number(v):
          self._tb.add_scalar(tag(k), v, int(step))

  def close(self):
    if self._jsonl is not None:
      self._jsonl.close()
      self._jsonl = None
    if self._tb is not None:
      self._tb.close()
      self._tb = None


def _summary_writer(fold_dir: str, kind: str, purge_step: int | None = None):
  """A tensorboardX writer whose event file is named for ``kind`` and this
  process (event files are named by the second they open in: two writers
  opened in the same second would otherwise write the same file)."""
  from tensorboardX import SummaryWriter
  return SummaryWriter(rundir.tensorboard_dir(fold_dir), purge_step=purge_step,
                       filename_suffix=f'.{kind}.{os.getpid()}')


def _flat(tree, prefix: str = '') -> dict:
  out = {}
  for k, v in tree.items():
    if isinstance(v, Mapping):
      out.update(_flat(v, f'{prefix}{k}.'))
    else:
      out[f'{prefix}{k}'] = v
  return out


def log_config(fold_dir: str, config) -> None:
  """The config as TensorBoard text: JSON, and a table of every field."""
  fields = _flat(config.to_dict())
  table = '| field | value |\n|---|---|\n' + '\n'.join(
      f'| {k} | {json.dumps(files.jsonable(v))} |' for k, v in
      sorted(fields.items()))
  writer = _summary_writer(fold_dir, 'config')
  try:
    writer.add_text('config/json', '```\n' + config.to_json(
        indent=2, sort_keys=True) + '\n```', 0)
    writer.add_text('config/hyperparameters', table, 0)
  finally:
    writer.close()


def evaluation_scalars(report: Mapping) -> dict[str, float]:
  """The headline numbers of an evaluation JSON: its ``summary`` (and the
  majority baseline's and the coordinated attacks'), or, for reports without
  one, its top-level numbers."""
  if 'summary' not in report:
    return {k: v for k, v in report.items()
            if _is_number(v) and k not in ('fold', 'step', 'seconds')}
  out = {k: v for k, v in report['summary'].items() if _is_number(v)}
  base = report.get('baseline_majority', {}).get('summary', {})
  out.update({f'majority/{k}': v for k, v in base.items() if _is_number(v)})
  for name, values in report.get('coordinated_attack', {}).items():
    if isinstance(values, Mapping):
      out.update({f'attack_{name}/{k}': v for k, v in values.items()
                  if k in ('accuracy', 'auc', 'pd_at_far') and _is_number(v)})
  return out


def log_evaluation(fold_dir: str, report: Mapping) -> None:
  """``evaluation_scalars`` as ``eval/...`` at the report's checkpoint step."""
  step = report.get('checkpoint_step', report.get('step')) or 0
  writer = _summary_writer(fold_dir, 'eval')
  try:
    for k, v in evaluation_scalars(report).items():
      if math.isfinite(v):
        writer.add_scalar(f'eval/{k}', v, int(step))
  finally:
    writer.close()


def _jsonable(v):
  if isinstance(v, float) and not math.isfinite(v):
    return str(v)       # JSON has no NaN/inf; keep them readable.
  return v


def read_metrics(fold_dir: str) -> list[dict]:
  """Every row of a fold's metrics.jsonl."""
  return files.read_jsonl(rundir.metrics_path(fold_dir))


def format_duration(seconds: float) -> str:
  seconds = max(0, int(round(seconds)))
  h, rem = divmod(seconds, 3600)
  m, s = divmod(rem, 60)
  return f'{h}h{m:02d}m{s:02d}s' if h else f'{m}m{s:02d}s'


def progress_line(prefix: str, step: int, num_steps: int,
                  metrics: Mapping[str, float], images_per_second: float,
                  seconds_per_step: float) -> str:
  """'fold1 step 120/2000 (6%) loss 12.3 (node 11.2 ...) | 95 img/s | ETA'."""
  terms = ' '.join(f'{k[5:]} {metrics[k]:.4g}' for k in sorted(metrics)
                   if k.startswith('loss_'))
  eta = format_duration((num_steps - step) * seconds_per_step)
  return (f'{prefix} step {step}/{num_steps} ({100 * step / num_steps:.0f}%) '
          f'loss {metrics["loss"]:.4g} ({terms}) '
          + (f'acc {metrics["accuracy"]:.3f} ' if 'accuracy' in metrics else
             f'node_acc {metrics.get("node_accuracy", float("nan")):.3f} ') +
          f'lr {metrics["learning_rate"]:.2e} | '
          f'{images_per_second:.1f} img/s {seconds_per_step:.3f} s/step | '
          f'ETA {eta}')
