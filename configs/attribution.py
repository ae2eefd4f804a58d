"""Image attribution (real + k-1 named GMs, k-way) with GTC + an FC head on
RED140 at 256x256. Protocol 1 (default): real, SNGAN, MMD-GAN, CramerGAN,
ProGAN; protocol 2 adds StyleGAN2 and, for the paper's StyleGAN3 (not in
RED140), StyleGAN2-ADA (docs/TASKS.md):

  python train.py --config=configs/attribution.py --workdir=runs/attr1 \
      --config.data.manual_dir=/path/to/RED140
  python train.py --config=configs/attribution.py:2 --workdir=runs/attr2 ...
  python eval.py --config=configs/attribution.py --workdir=runs/attr1

Each source's images are split by record hash (``task_data.holdout_percent``
= 20 % tested). Writes ``<workdir>/fold1/eval_attribution.json`` (accuracy,
per-class accuracy, confusion matrix) and
``<workdir>/fold1/plots/confusion_attribution.png``.
"""

from configs import default

PROTOCOLS = {
    '1': ('SNGAN', 'MMD_GAN', 'CRAMER_GAN', 'PROG_GAN'),
    '2': ('SNGAN', 'MMD_GAN', 'CRAMER_GAN', 'PROG_GAN', 'STYLEGAN_2',
          'STYLEGAN_ADA'),   # STYLEGAN_ADA stands in for StyleGAN3.
}


def get_config(protocol: str = '1'):
  if protocol not in PROTOCOLS:
    raise ValueError(f'attribution protocol must be one of {list(PROTOCOLS)}, '
                     f'got {protocol!r}')
  config = default.get_config()
  config.task = 'attribution'
  config.task_data.attribution_gms = PROTOCOLS[protocol]
  t = config.train
  default.step_based(t, num_steps=20_000)
  t.batch_size = 64
  t.skip_all_real_batches = False    # (a model-parsing setting)
  t.learning_rate = 1e-3
  t.lr_decay_steps = 4_000
  t.checkpoint_every = 2_000
  return config
