"""Attribution (protocol 1) on the built-in synthetic data, on CPU in about
two minutes.

  python train.py --config=configs/attribution_quick.py --workdir=runs/attr_quick
  python eval.py --config=configs/attribution_quick.py --workdir=runs/attr_quick
  (``configs/attribution_quick.py:2`` for protocol 2)

Builds synthetic RED at 32x32 (16 images per GM, 320 real; once; shared with
configs/detection_quick.py), trains the quickstart-size GTC + FC head for
300 steps (real images are 20 % of each batch), then writes
``<workdir>/fold1/eval_attribution.json`` and the confusion-matrix PNG.
"""

from configs import attribution, detection_quick


def get_config(protocol: str = '1'):
  config = detection_quick.quick_task(attribution.get_config(protocol))
  config.task_data.real_fraction = 0.2   # real is one class of 5-7.
  return config
