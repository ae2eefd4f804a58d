"""Baseline "ViT + GCN refinement" (rebuttal R.7): ViT-B/16 + LGPN's head.

  python train.py --config=configs/vit_gcn.py --workdir=runs/vit_gcn \
      --config.data.manual_dir=/path/to/RED140 --config.fold=1
ViT-B/16 at 256x256 (lgpn_jax/models/vit.py) instead of GTC, the same node
heads and GCN refinement head. Rebuttal R.7 (RED140, 4-fold mean): loss
F1/Acc 76.9/76.7, discrete 69.7/67.0, continuous L1 0.170.
Start from ImageNet: --config.model.init_from=<timm vit_base_patch16_224
state_dict, .safetensors or .pth> (README, "Starting from ImageNet weights").
Cost at 256x256 (whole model, batch-1 forward, conv + matmul, 2 FLOPs per
multiply-add): 104.9 M parameters, 46.5 GFLOPs/image (LGPN: 45.8 M,
178.9 GFLOPs).
"""

from configs import default


def get_config():
  config = default.get_config()
  config.model.backbone = 'vit_b16'
  return config
