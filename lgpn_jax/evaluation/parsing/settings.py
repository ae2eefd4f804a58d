"""Model parsing's evaluation settings and the definitions of its metrics.

``settings(config)`` reads ``config.eval`` (its fields and defaults are in
configs/default.py) and checks it; ``DEFINITIONS`` restates every metric in
every evaluation JSON (computed in lgpn_jax/evaluation/metrics.py).
"""

from __future__ import annotations

from lgpn_jax.evaluation import metrics
from lgpn_jax.red140 import continuous

DEFINITIONS = dict(
    node_prediction=('P(node=1) > 0.5 (a tie at 0.5 predicts 0, as the '
                     'authors\' 2-way argmax).'),
    f1=('Per node: F1 macro-averaged over the classes {0,1} over the scored '
        'images; group value = mean over the group\'s nodes (loss 0-9, '
        'continuous bins 10-36, discrete 37-54). absent_class=ignore: a class '
        'absent from both truth and prediction of a node is left out of its '
        'macro mean (sklearn f1_score(average="macro") default labels); '
        'zero: it counts as F1 0.'),
    accuracy='Per node: fraction of scored images right; group = mean over nodes.',
    scored_images=('Generated images of the fold\'s test GMs only; real '
                   'images and padding are excluded; no image is dropped.'),
    continuous_l1=('Per continuous hyperparameter: mean |regressed - true| of '
                   'the normalised value over images where it is reported '
                   '(filters=999999 "not reported" is masked); mean over the '
                   'hyperparameters with a reported image. Normaliser: fitted '
                   'on the fold\'s training GMs (see normalisation).'),
    regression=('Per continuous hyperparameter, ridge regression from the '
                'concatenated 3 bin-node features (after the graph head) to '
                'the normalised value, fitted in closed form on the fold\'s '
                'training images.'),
    majority_baseline=('Predicts, for every image, each node\'s most frequent '
                       'value over the fold\'s training GMs (one vote per GM, '
                       'ties -> 0) and, for each continuous hyperparameter, '
                       'the median normalised value of the training GMs.'),
    coordinated_attack=('Descriptor: 2 P(node=1) - 1 over the 55 nodes of one '
                        'image; similarity: cosine. Pairs: half same-GM, half '
                        'different-GM (metrics.sample_pairs, seeded). seen: '
                        'generated images of the fold\'s training split; '
                        'unseen: the test GMs. accuracy uses the threshold '
                        'maximising accuracy on the seen pairs; '
                        'oracle_accuracy the set\'s own best threshold; AUC; '
                        'pd_at_far: largest detection rate with false-alarm '
                        'rate <= far. Always single images.'),
    num_images=('n > 1: each test GM\'s images, in stream order, are cut into '
                'consecutive groups of n; node probabilities and regressed '
                'values are averaged within a group and each group is scored '
                'as one prediction; a GM\'s last group with fewer than n '
                'images is dropped.'),
    std='Population standard deviation over folds (numpy std, ddof=0).',
)

PER_GM_NOTE = ('Per-GM results are uneven: several test GMs have an exact '
               'label twin among the fold\'s training GMs (listed in '
               'label_twins_in_training), and a model can score well on them '
               'by recalling the twin. F1 is not reported per GM: within one '
               'GM every node\'s truth is constant, so per-node F1 degenerates.')


def settings(config) -> dict:
  """``config.eval`` (configs/default.py) as a dict, batch size resolved."""
  out = config.eval.to_dict()
  if not out['batch_size']:
    out['batch_size'] = config.train.eval_batch_size or 64
  if out['normalisation'] not in continuous.METHODS:
    raise ValueError(f'eval.normalisation must be one of {continuous.METHODS}')
  if out['f1_absent_class'] not in metrics.ABSENT_CLASS:
    raise ValueError(f'eval.f1_absent_class must be one of '
                     f'{metrics.ABSENT_CLASS}')
  if int(out['num_images']) < 1:
    raise ValueError(f'num_images must be >= 1, got {out["num_images"]}')
  return out
