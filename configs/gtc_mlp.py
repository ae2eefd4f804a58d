"""Ablation "GTC + MLP": no graph at all; the 55 node features go straight from
the node heads to the per-node classifier (no correlation graph, no pooling,
no hierarchy loss).

  python train.py --config=configs/gtc_mlp.py --workdir=runs/gtc_mlp \
      --config.data.manual_dir=/path/to/RED140 --config.fold=1
Paper, per-hyperparameter L1 (LGPN vs GTC + MLP): layer num 0.147 vs 0.149,
parameter num 0.081 vs 0.148, conv layer num 0.137 vs 0.151, filter num
0.149 vs 0.161.
"""

from configs import default


def get_config():
  config = default.get_config()
  config.model.head = 'mlp'
  return config
