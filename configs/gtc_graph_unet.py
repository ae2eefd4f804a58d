"""Baseline "GTC + Graph U-Net" (Tab. 2(a)): learned top-k node pooling.

  python train.py --config=configs/gtc_graph_unet.py --workdir=runs/gtc_graph_unet \
      --config.data.manual_dir=/path/to/RED140 --config.fold=1
GTC and the node heads, then Graph U-Net (Gao & Ji, ICML 2019;
lgpn_jax/models/graph_unet.py): gPool keeps the top-k nodes of a learned
projection score (ratios 0.9, 0.7, 0.6, 0.5: 55 -> 50 -> 35 -> 21 -> 11),
gUnpool scatters them back, same-level skips. It has no matching matrices,
so the hierarchy loss is not used. The paper's Tab. 2(a) cells are not
available here.
Cost at 256x256 (whole model, batch-1 forward, conv + matmul, 2 FLOPs per
multiply-add): 45.7 M parameters, 178.9 GFLOPs/image (LGPN: 45.8 M,
178.9 GFLOPs).
"""

from configs import default


def get_config():
  config = default.get_config()
  config.model.head = 'graph_unet'
  return config
