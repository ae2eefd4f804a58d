"""The released-code structure (configs/released.py) at the size of
configs/tiny.py, on the built-in synthetic data at 32x32: for trying weight
import end to end on a CPU in seconds, with random weights in the authors'
layout (scripts/synthetic_weights.py) instead of their checkpoint.
  python scripts/synthetic_weights.py --config=configs/released_tiny.py \
      --out=runs/tiny_weights.safetensors
  python convert.py --config=configs/released_tiny.py \
      --weights=runs/tiny_weights.safetensors --workdir=runs/imported --fold=1
"""

from configs import released, tiny

SIZE_FIELDS = ('feature_dim', 'stem_width', 'stage_sizes', 'widths',
               'pyramid_width', 'head_hidden', 'node_dim')


def get_config():
  config = released.get_config()
  small = tiny.get_config()
  for name in SIZE_FIELDS:
    config.model[name] = small.model[name]
  config.data.dataset = 'synthetic'
  config.data.image_size = small.data.image_size
  config.data.images_per_gm = 4      # synthetic build options.
  config.data.num_real = 64
  config.eval.num_pairs = 500
  return config
