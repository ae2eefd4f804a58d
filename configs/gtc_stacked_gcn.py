"""Ablation "GTC + stacked GCN": GCN layers on the fixed correlation graph
(model.stacked_layers, default 4), no attention, no learnable pooling.

  python train.py --config=configs/gtc_stacked_gcn.py \
      --workdir=runs/gtc_stacked_gcn \
      --config.data.manual_dir=/path/to/RED140 --config.fold=1
The rebuttal compares its cost with LGPN (4.8 vs 4.2 GFLOPs claimed); compare
the forward FLOPs each run logs at step 0 in metrics.jsonl.
"""

from configs import default


def get_config():
  config = default.get_config()
  config.model.head = 'stacked_gcn'
  return config
