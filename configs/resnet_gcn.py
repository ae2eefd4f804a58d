"""Baseline "ResNet + GCN refinement": a standard ResNet-50 backbone (stride-2
stem, max-pool) instead of GTC, same node heads and GCN refinement head.

  python train.py --config=configs/resnet_gcn.py --workdir=runs/resnet_gcn \
      --config.data.manual_dir=/path/to/RED140 --config.fold=1
Paper (RED140, 4-fold mean): loss F1/Acc 80.5/82.5, discrete 75.6/69.8,
continuous L1 0.155 (vs LGPN 84.6/83.3, 79.5/77.5, 0.120).
"""

from configs import default


def get_config():
  config = default.get_config()
  config.model.backbone = 'resnet50'
  return config
