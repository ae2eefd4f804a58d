"""The trained variants the experiments share, by name (one name, one config).

Each is a config file of configs/ plus overrides of its fields; its folds
train into ``<workdir>/<name>/fold<k>/``.
"""

from lgpn_jax.experiments.spec import Variant

LGPN = Variant('lgpn', 'default')                  # GTC + GCN refinement.
GTC_MLP = Variant('gtc_mlp', 'gtc_mlp')
GTC_STACKED_GCN = Variant('gtc_stacked_gcn', 'gtc_stacked_gcn')
GTC_ATT_GCN = Variant('gtc_att_gcn', 'gtc_att_gcn')
GTC_GRAPH_UNET = Variant('gtc_graph_unet', 'gtc_graph_unet')
GTC_GAT = Variant('gtc_gat', 'gtc_gat')
RESNET_GCN = Variant('resnet_gcn', 'resnet_gcn')
HRNET_MLP = Variant('hrnet_mlp', 'hrnet_mlp')
HRNET_GCN = Variant('hrnet_gcn', 'hrnet_gcn')
VIT_MLP = Variant('vit_mlp', 'vit_mlp')
VIT_GCN = Variant('vit_gcn', 'vit_gcn')
RANDOM_GT = Variant('random_gt', 'random_gt:0')
NODE_ONLY = Variant('lgpn_node_loss_only', 'default',
                    (('loss.hierarchy_weight', 0.0),
                     ('loss.artifact_weight', 0.0)))
NODE_HIERARCHY = Variant('lgpn_no_artifact_loss', 'default',
                         (('loss.artifact_weight', 0.0),))
ONE_LEVEL = Variant('lgpn_one_pooling_level', 'default',
                    (('model.pool_sizes', (18,)),))
TAU = {t: (LGPN if t == '0.45' else Variant(f'tau_{t}', f'tau:{t}'))
       for t in ('0.35', '0.45', '0.55', '0.65')}
MISLABEL = {p: (LGPN if p == 0 else Variant(f'mislabel_{p}',
                                            f'mislabelled:{p}'))
            for p in (0, 1, 5, 8)}
RED116 = Variant('red116', 'red116')
RED116_RANDOM_GT = Variant('red116_random_gt', 'red116',
                           (('labels.permutation_seed', 0),))
RED116_TRAIN = {'face': Variant('red116_train_face', 'face_nonface:face'),
                'non-face': Variant('red116_train_nonface',
                                    'face_nonface:non-face'),
                'full': RED116}
ATTACK = Variant('lgpn_holdout', 'coordinated_attack')
RED116_OVERRIDES = (('selection.gms', 'red116'),
                    ('selection.normalise_over', 'all'))  # configs/red116.py
FENPN_RED116 = Variant('fenpn_red116', 'fenpn', RED116_OVERRIDES)
FENPN_TRAIN = {'face': Variant('fenpn_red116_train_face', 'fenpn',
                               RED116_OVERRIDES +
                               (('selection.train_group', 'face'),)),
               'non-face': Variant('fenpn_red116_train_nonface', 'fenpn',
                                   RED116_OVERRIDES +
                                   (('selection.train_group', 'non-face'),)),
               'full': FENPN_RED116}
