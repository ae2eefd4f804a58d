"""Tab. 2(a): graph heads on the GTC backbone."""

from lgpn_jax.experiments import cells, reported
from lgpn_jax.experiments.catalog import variants as v
from lgpn_jax.experiments.spec import Experiment, Row

EXPERIMENT = Experiment(
    name='tab2a_heads',
    title='Tab. 2(a): heads on GTC, RED140 (mean +- std over folds)',
    what=('GTC with an MLP head (no graph), stacked GCN layers, stacked GCN '
          'with the released edge attention, GAT (multi-head attention over '
          'the fold graph), Graph U-Net (top-k pooling and unpooling), and '
          'the GCN refinement block with learnable pooling (LGPN).'),
    rows=(Row('GTC + MLP', v.GTC_MLP),
          Row('GTC + stacked GCN', v.GTC_STACKED_GCN),
          Row('GTC + attention GCN (released)', v.GTC_ATT_GCN),
          Row('GTC + GAT', v.GTC_GAT),
          Row('GTC + Graph U-Net', v.GTC_GRAPH_UNET),
          Row('GTC + GCN refinement (LGPN)', v.LGPN)),
    columns=cells.PAPER, cells=cells.paper,
    references=(reported.red140_row('GTC + GCN refinement (LGPN)',
                                    'gtc_gcn'),))
