"""Tab. 1: backbones and heads, with the Random-GT chance baseline."""

from lgpn_jax.experiments import cells, reported
from lgpn_jax.experiments.catalog import variants as v
from lgpn_jax.experiments.spec import Experiment, Row

EXPERIMENT = Experiment(
    name='tab1_backbones_heads',
    title='Tab. 1: backbones and heads on RED140 (mean +- std over folds)',
    what=('Backbones (ResNet-50, HRNet-W32, ViT-B/16, GTC) with an MLP head '
          'and with the GCN refinement head (GTC + GCN refinement = LGPN), '
          'and the Random-GT chance baseline.'),
    rows=(Row('ResNet-50 + GCN refinement', v.RESNET_GCN),
          Row('HR-Net + MLP head', v.HRNET_MLP),
          Row('HR-Net + GCN refinement', v.HRNET_GCN),
          Row('ViT + MLP head', v.VIT_MLP),
          Row('ViT + GCN refinement', v.VIT_GCN),
          Row('GTC + MLP head', v.GTC_MLP),
          Row('GTC + GCN refinement (LGPN)', v.LGPN),
          Row('Random-GT (labels permuted over GMs)', v.RANDOM_GT)),
    columns=cells.PAPER, cells=cells.paper,
    references=(
        reported.red140_row('ResNet + GCN refinement', 'resnet_gcn'),
        reported.red140_row('HR-Net + GCN refinement', 'hrnet_gcn'),
        reported.red140_row('ViT + GCN refinement', 'vit_gcn'),
        reported.red140_row('GTC + GCN refinement (LGPN)', 'gtc_gcn')))
