"""Training logs: metrics.jsonl, TensorBoard scalars and a console progress line.

``MetricWriter(fold_dir)`` appends one JSON object per call to
``<fold_dir>/metrics.jsonl`` and writes the same scalars to
``<fold_dir>/tensorboard/`` with tensorboardX (TensorFlow is not imported
outside input_pipeline/). Only process 0 writes; other processes get a writer
that does nothing.
"""

from __future__ import annotations

import json
import math
import os
from typing import Mapping

from lgpn_jax import files, rundir


class MetricWriter:
  """Writes {name: number} dicts at a step to jsonl and TensorBoard."""

  def __init__(self, fold_dir: str, enabled: bool = True,
               tensorboard: bool = True):
    self.enabled = enabled
    self._jsonl = None
    self._tb = None
    if not enabled:
      return
    os.makedirs(fold_dir, exist_ok=True)
    self.path = rundir.metrics_path(fold_dir)
    self._jsonl = open(self.path, 'a')
    if tensorboard:
      from tensorboardX import SummaryWriter
      self._tb = SummaryWriter(rundir.tensorboard_dir(fold_dir))

  def write(self, step: int, scalars: Mapping[str, float | int | str]):
    if not self.enabled:
      return
    row = {'step': int(step)}
    row.update({k: _jsonable(v) for k, v in scalars.items()})
    self._jsonl.write(json.dumps(row) + '\n')
    self._jsonl.flush()
    if self._tb is not None:
      for k, v in scalars.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
          self._tb.add_scalar(k, v, int(step))

  def close(self):
    if self._jsonl is not None:
      self._jsonl.close()
      self._jsonl = None
    if self._tb is not None:
      self._tb.close()
      self._tb = None


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
