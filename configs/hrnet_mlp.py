"""Baseline "HR-Net + MLP" (Tab. 1): HRNet-W32 backbone, no graph head.

  python train.py --config=configs/hrnet_mlp.py --workdir=runs/hrnet_mlp \
      --config.data.manual_dir=/path/to/RED140 --config.fold=1
HRNet-W32 (lgpn_jax/models/hrnet.py: the rebuttal does not state the width;
W32 is the common HRNet-ImageNet classification width, timm's hrnet_w32)
feeding the same node heads; the node features go straight to the per-node
classifier. The paper's Tab. 1 cells are not available here.
Start from ImageNet: --config.model.init_from=<timm hrnet_w32 state_dict,
.safetensors or .pth> (README, "Starting from ImageNet weights").
Cost at 256x256 (whole model, batch-1 forward, conv + matmul, 2 FLOPs per
multiply-add): 58.7 M parameters, 23.3 GFLOPs/image (LGPN: 45.8 M,
178.9 GFLOPs).
"""

from configs import default


def get_config():
  config = default.get_config()
  config.model.backbone = 'hrnet'
  config.model.head = 'mlp'
  return config
