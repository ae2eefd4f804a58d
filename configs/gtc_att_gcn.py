"""Ablation "GTC + attention GCN": stacked GCN layers with masked edge
attention on the fixed correlation graph, no learnable pooling.

  python train.py --config=configs/gtc_att_gcn.py --workdir=runs/gtc_att_gcn \
      --config.data.manual_dir=/path/to/RED140 --config.fold=1
Isolates what the learnable pooling/unpooling adds over attention alone.
"""

from configs import default


def get_config():
  config = default.get_config()
  config.model.head = 'att_gcn'
  return config
