"""Tab. 1: backbones and heads, with the Random-GT chance baseline."""

from lgpn_jax.experiments import cells, reported
from lgpn_jax.experiments.catalog import variants as v
from lgpn_jax.experiments.spec import Experiment, Row

PENDING = ('the {} backbone exists as lgpn_jax/models/{}.py but is not yet '
           'selectable by model.backbone in configs')

EXPERIMENT = Experiment(
    name='tab1_backbones_heads',
    title='Tab. 1: backbones and heads on RED140 (mean +- std over folds)',
    what=('Backbone x head combinations the project can build (ResNet-50 + '
          'GCN refinement, GTC + MLP head, GTC + GCN refinement = LGPN) and '
          'the Random-GT chance baseline; HR-Net and ViT rows are pending.'),
    rows=(Row('ResNet-50 + GCN refinement', v.RESNET_GCN),
          Row('HR-Net + GCN refinement', pending=PENDING.format('HR-Net',
                                                                'hrnet')),
          Row('ViT + GCN refinement', pending=PENDING.format('ViT', 'vit')),
          Row('GTC + MLP head', v.GTC_MLP),
          Row('GTC + GCN refinement (LGPN)', v.LGPN),
          Row('Random-GT (labels permuted over GMs)', v.RANDOM_GT)),
    columns=cells.PAPER, cells=cells.paper,
    references=(
        reported.red140_row('ResNet + GCN refinement', 'resnet_gcn'),
        reported.red140_row('HR-Net + GCN refinement', 'hrnet_gcn'),
        reported.red140_row('ViT + GCN refinement', 'vit_gcn'),
        reported.red140_row('GTC + GCN refinement (LGPN)', 'gtc_gcn')))
