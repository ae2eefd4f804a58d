"""A tiny FEN-PN for tests: 32x32 images, 3-layer FEN, a few channels.

Same structure as configs/fenpn.py (every module and loss term), small enough
to train a few steps on the tiny synthetic build in seconds on one CPU core.
  python -m pytest tests/tasks/test_fenpn_task.py  (not meant for training)
"""

from configs import fenpn, tiny


def get_config():
  config = tiny.shrink(fenpn.get_config())
  config.data.dataset = 'synthetic'
  return config
