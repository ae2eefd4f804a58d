"""CNN-generated image detection (real vs generated) with GTC + an FC head,
on RED140 at 256x256: trained on ProGAN (``PROG_GAN``) plus real images,
tested on unseen GMs (docs/TASKS.md lists them and the substitutes).

  python train.py --config=configs/detection.py --workdir=runs/detection \
      --config.data.manual_dir=/path/to/RED140
  python eval.py --config=configs/detection.py --workdir=runs/detection

Writes ``runs/detection/fold1/eval_detection.json``: AP and accuracy per test
GM (its images vs the held-out real images) and their means. The fold number
only names the directory. Override the GM lists with e.g.
``--config.task_data.test_gms=STYLEGAN,CYCLEGAN``.
"""

from configs import default

# The GMs of the CNN-generated-image benchmark that RED140 holds, plus
# later families (StyleGAN2-ADA, StarGAN v2, diffusion) for a harder test.
TEST_GMS = ('STYLEGAN', 'STYLEGAN_2', 'BIGGAN_256', 'CYCLEGAN', 'STARGAN',
            'BIGGAN_128', 'BIGGAN_512', 'STYLEGAN_ADA', 'STARGAN_2', 'MUNIT',
            'PIX2PIX', 'DDPM_256', 'LDM', 'GLIDE', 'STABLE_DM_15')


def get_config():
  config = default.get_config()
  config.task = 'detection'
  td = config.task_data
  td.train_gms = ('PROG_GAN',)
  td.test_gms = TEST_GMS
  td.real_fraction = 0.5             # balanced real / generated batches.
  t = config.train
  default.step_based(t, num_steps=20_000)   # one GM (~800 images) + real.
  t.batch_size = 64
  t.skip_all_real_batches = False    # (a model-parsing setting)
  t.learning_rate = 1e-3
  t.lr_decay_steps = 4_000
  t.checkpoint_every = 2_000
  return config
