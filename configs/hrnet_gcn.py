"""Baseline "HR-Net + GCN refinement" (rebuttal R.7): HRNet-W32 + LGPN's head.

  python train.py --config=configs/hrnet_gcn.py --workdir=runs/hrnet_gcn \
      --config.data.manual_dir=/path/to/RED140 --config.fold=1
HRNet-W32 (lgpn_jax/models/hrnet.py; width chosen as in configs/hrnet_mlp.py)
instead of GTC, the same node heads and GCN refinement head. Rebuttal R.7
(RED140, 4-fold mean): loss F1/Acc 81.8/82.1, discrete 74.8/72.9, continuous
L1 0.147 (LGPN 84.6/83.3, 79.5/77.5, 0.120).
Start from ImageNet: --config.model.init_from=<timm hrnet_w32 state_dict,
.safetensors or .pth> (README, "Starting from ImageNet weights").
Cost at 256x256 (whole model, batch-1 forward, conv + matmul, 2 FLOPs per
multiply-add): 58.9 M parameters, 23.4 GFLOPs/image (LGPN: 45.8 M,
178.9 GFLOPs).
"""

from configs import default


def get_config():
  config = default.get_config()
  config.model.backbone = 'hrnet'
  return config
