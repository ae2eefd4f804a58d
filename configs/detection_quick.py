"""Detection on the built-in synthetic data, on CPU in about two minutes.

  python train.py --config=configs/detection_quick.py --workdir=runs/det_quick
  python eval.py --config=configs/detection_quick.py --workdir=runs/det_quick

Builds synthetic RED at 32x32 (16 images per GM, 320 real; once), trains
the quickstart-size GTC + FC head on ``PROG_GAN`` and real images for 300
steps, then writes ``runs/det_quick/fold1/eval_detection.json`` (AP and
accuracy per unseen test GM). Same selection as configs/detection.py.
"""

from configs import detection, quickstart


def get_config():
  return quick_task(detection.get_config())


def quick_task(paper):
  """The quickstart-size model and CPU schedule on the small synthetic build
  (shared by configs/attribution_quick.py), with ``paper``'s task and data
  selection."""
  config = quickstart.get_config()
  config.task = paper.task
  config.task_data = paper.task_data
  config.data.image_size = 32
  config.data.images_per_gm = 16
  config.data.num_real = 320
  t = config.train
  t.num_steps = 300
  t.skip_all_real_batches = False    # (a model-parsing setting)
  t.lr_decay_steps = 100
  t.warmup_steps = 20
  t.checkpoint_every = 300
  return config
