"""Baseline "GTC + GAT" (Tab. 2(a)): multi-head graph attention as published.

  python train.py --config=configs/gtc_gat.py --workdir=runs/gtc_gat \
      --config.data.manual_dir=/path/to/RED140 --config.fold=1
GTC and the node heads, then GAT (Velickovic et al., ICLR 2018;
lgpn_jax/models/gat.py): 2 layers, 8 heads of 16 features concatenated, then
one head; LeakyReLU(0.2) scores over the fold graph plus self-loops. Unlike
configs/gtc_att_gcn.py (the authors' simplified attention), it is GAT as its
paper defines it. The paper's Tab. 2(a) cells are not available here.
Cost at 256x256 (whole model, batch-1 forward, conv + matmul, 2 FLOPs per
multiply-add): 45.6 M parameters, 178.9 GFLOPs/image (LGPN: 45.8 M,
178.9 GFLOPs).
"""

from configs import default


def get_config():
  config = default.get_config()
  config.model.head = 'gat'
  return config
