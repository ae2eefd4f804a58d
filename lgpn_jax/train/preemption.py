"""Stopping cleanly when the job is preempted.

On SIGTERM (what schedulers send before they stop a job) the trainer
finishes the step in flight, checks and logs its metrics, saves a checkpoint
at that step and returns; running the same command again resumes from it
exactly. With several processes, every process must save at the same step:
there the decision comes from JAX's preemption sync point (the coordination
service sees a SIGTERM on any host), checked after every step.
"""

from __future__ import annotations

import signal
import threading

import jax


class Preemption:
  """``due(step)``: whether to save and stop after ``step``. Use as a
  context manager: SIGTERM is caught only inside it, the previous handler
  is restored after."""

  def __init__(self):
    self.requested = False
    self._previous = None

  def __enter__(self):
    if (jax.process_count() == 1
        and threading.current_thread() is threading.main_thread()):
      self._previous = signal.signal(signal.SIGTERM, self._on_signal)
    return self

  def __exit__(self, *exc):
    if self._previous is not None:
      signal.signal(signal.SIGTERM, self._previous)
      self._previous = None

  def _on_signal(self, signum, frame):
    del signum, frame
    self.requested = True

  def due(self, step: int) -> bool:
    if jax.process_count() > 1:
      from jax.experimental import multihost_utils
      return bool(multihost_utils.reached_preemption_sync_point(step))
    return self.requested
