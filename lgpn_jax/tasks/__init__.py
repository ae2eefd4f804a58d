"""The one seam between model parsing and classification.

``tasks.get(config)`` returns the ``base.Task`` of ``config.task``:
  * 'model_parsing' (default): LGPN (``parsing.ModelParsing``), or FEN-PN
    with ``config.model.name = 'fenpn'`` (``fenpn.FENPNParsing``);
  * 'detection', 'attribution': GTC + a fully connected head
    (``classification.Classification``; docs/TASKS.md).
Nothing outside this package asks which task a config is.
"""

from __future__ import annotations

from lgpn_jax.tasks import classification, fenpn, parsing
from lgpn_jax.tasks.base import Task

MODEL_PARSING = 'model_parsing'
TASKS = (MODEL_PARSING,) + classification.TASKS


def name_of(config) -> str:
  """``config.task`` (configs without the field are model parsing)."""
  task = config.get('task', MODEL_PARSING)
  if task not in TASKS:
    raise ValueError(f'config.task must be one of {TASKS}, got {task!r}')
  return task


def get(config) -> Task:
  """The task of ``config``."""
  if config.model.get('name') == fenpn.NAME:
    return fenpn.FENPNParsing(config)
  if name_of(config) == MODEL_PARSING:
    return parsing.ModelParsing(config)
  return classification.Classification(config)
