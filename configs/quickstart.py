"""Quickstart: a small LGPN trained on the built-in synthetic data, on CPU.

  python train.py --config=configs/quickstart.py --workdir=runs/quickstart
(or `make quickstart`). Builds synthetic RED at 32x32 (32 images per GM, 640
real; about 5 s, once, in the TFDS data dir), trains fold 1 for 800 steps of
32 images, then fits the continuous regression and evaluates on the fold's
unseen GMs. About 2 minutes on 2 CPU cores in total (docs/PERFORMANCE.md);
the last lines print the result table and where the evaluation JSON and
plots are. Same structure as configs/default.py (GTC, both pooling levels),
a few channels wide, float32 (bfloat16 is slow on CPUs). 32x32 keeps the
synthetic generators' traces (a linear probe on FFT band energies reads the
upsampling node of unseen GMs at 32x32; docs/DATA.md) at a quarter of
64x64's cost.
"""

from configs import default


def get_config():
  config = default.get_config()
  config.data.dataset = 'synthetic'
  config.data.image_size = 32
  config.data.images_per_gm = 32     # synthetic build options.
  config.data.num_real = 640
  m = config.model
  m.dtype = 'float32'
  m.feature_dim = 64
  m.stem_width = 8
  m.stage_sizes = (1, 1, 1, 1)
  m.widths = (4, 8, 8, 16)
  m.pyramid_width = 8
  m.head_hidden = 64
  m.node_dim = 32
  t = config.train
  default.step_based(t, num_steps=800)
  t.batch_size = 32
  t.learning_rate = 1e-3
  t.lr_decay_steps = 200
  t.warmup_steps = 50
  t.log_every = 50
  t.checkpoint_every = 400
  t.eval_batch_size = 64
  return config
