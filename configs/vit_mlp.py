"""Baseline "ViT + MLP" (Tab. 1): ViT-B/16 backbone, no graph head.

  python train.py --config=configs/vit_mlp.py --workdir=runs/vit_mlp \
      --config.data.manual_dir=/path/to/RED140 --config.fold=1
ViT-B/16 at 256x256 (lgpn_jax/models/vit.py: learned position embeddings for
the 16x16 patch grid, the class token as the image's feature) feeding the
same node heads; no graph head. The paper's Tab. 1 cells are not available
here.
Start from ImageNet: --config.model.init_from=<timm vit_base_patch16_224
state_dict, .safetensors or .pth> (README, "Starting from ImageNet weights").
Cost at 256x256 (whole model, batch-1 forward, conv + matmul, 2 FLOPs per
multiply-add): 104.7 M parameters, 46.4 GFLOPs/image (LGPN: 45.8 M,
178.9 GFLOPs).
"""

from configs import default


def get_config():
  config = default.get_config()
  config.model.backbone = 'vit_b16'
  config.model.head = 'mlp'
  return config
