"""A tiny FEN-PN for tests: 32x32 images, 3-layer FEN, a few channels.

Same structure as configs/fenpn.py (every module and loss term), small enough
to train a few steps on the tiny synthetic build in seconds on one CPU core.
  python -m pytest tests/tasks/test_fenpn_task.py  (not meant for training)
"""

from configs import fenpn


def get_config():
  config = fenpn.get_config()
  config.data.dataset = 'synthetic'
  config.data.image_size = 32
  m = config.model
  m.dtype = 'float32'
  m.fen_layers = 3
  m.fen_width = 8
  m.pn_conv_widths = (4, 8, 8, 8, 16)
  m.pn_hidden = 32
  m.pn_branch_widths = (16, 8)
  m.clusters = 4
  config.loss.low_freq_radius = 4
  return config
