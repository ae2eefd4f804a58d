"""A tiny LGPN for tests: 32x32 images, a few channels, one block per stage.

Same structure as configs/default.py (every module, both pooling levels), small
enough that a forward pass runs in well under a second on one CPU core.
  python -m pytest tests  (the tests load it; it is not meant for training)

``shrink(config)`` makes any config of configs/ tiny the same way while
keeping its structure (backbone, head, pooling levels, loss terms): the
widths of every model section it has (GTC / ResNet, HRNet, ViT, GAT, FEN-PN)
and 32x32 images. The tests and the experiments' quick size use it.
"""

from configs import default

SIZE = 32
MODEL = dict(dtype='float32', feature_dim=32, stem_width=8,
             stage_sizes=(1, 1, 1, 1), widths=(4, 8, 8, 16), pyramid_width=8,
             head_hidden=32, node_dim=16)
SECTIONS = dict(
    hrnet=dict(stage1_width=4, stage1_blocks=1, width=4, num_modules=(1, 1, 1),
               num_blocks=1, head_widths=(2, 4, 4, 8), final_width=16),
    vit=dict(patch=8, width=16, depth=2, heads=2, mlp_dim=24),
    gat=dict(heads=2, hidden=4))
FENPN = dict(fen_layers=3, fen_width=8, pn_conv_widths=(4, 8, 8, 8, 16),
             pn_hidden=32, pn_branch_widths=(16, 8), clusters=4)
FENPN_LOW_FREQ_RADIUS = 4          # FEN-PN's spectrum window at 32x32.


def shrink(config):
  """``config`` (changed in place) at tiny widths and 32x32 images."""
  m = config.model
  for key, value in MODEL.items():
    if key in m:
      m[key] = value
  for section, fields in SECTIONS.items():
    if section in m:
      m[section].update(fields)
  if 'fen_layers' in m:
    m.update(FENPN)
    config.loss.low_freq_radius = FENPN_LOW_FREQ_RADIUS
  config.data.image_size = SIZE
  return config


def get_config():
  config = shrink(default.get_config())
  config.data.dataset = 'synthetic'
  default.step_based(config.train, num_steps=100)
  config.train.batch_size = 16
  return config
