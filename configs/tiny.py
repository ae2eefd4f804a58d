"""A tiny LGPN for tests: 32x32 images, a few channels, one block per stage.

Same structure as configs/default.py (every module, both pooling levels), small
enough that a forward pass runs in well under a second on one CPU core.
  python -m pytest tests  (the tests load it; it is not meant for training)
"""

from configs import default


def get_config():
  config = default.get_config()
  config.data.dataset = 'synthetic'
  config.data.image_size = 32
  m = config.model
  m.dtype = 'float32'
  m.feature_dim = 32
  m.stem_width = 8
  m.stage_sizes = (1, 1, 1, 1)
  m.widths = (4, 8, 8, 16)
  m.pyramid_width = 8
  m.head_hidden = 32
  m.node_dim = 16
  default.step_based(config.train, num_steps=100)
  config.train.batch_size = 16
  return config
