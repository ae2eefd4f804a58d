"""Per-fold evaluation of a trained LGPN and aggregation over the four folds.

``evaluate_fold(config, workdir, fold)`` (what train.py calls at the end):
  1. loads ``<workdir>/fold{k}/`` (checkpoint, ``adjacency.npy``,
     ``config.json``) through ``lgpn_jax.checkpoint``;
  2. runs the model over the fold's TRAINING split once: fits the regression
     stage (``regression.npz``) and keeps the node probabilities of generated
     images for the "seen" coordinated attacks (``seen_outputs.npz``). Both
     are reused when they exist and were made from the same checkpoint step
     (``regression.fit_for_fold``, which train.py calls first, writes them),
     so the training split is read once per checkpoint;
  3. runs it over the fold's TEST split (the unseen GMs), scores generated
     images only (real images and padding never count);
  4. writes ``<workdir>/fold{k}/eval_fold{k}.json`` (``eval_fold{k}_images{n}
     .json`` for ``num_images = n > 1``) and PNG plots in
     ``<workdir>/fold{k}/plots/``; returns the JSON path.
``aggregate(workdir)``: mean +- std over the folds' JSONs present, in the
paper's table layout, saved as ``<workdir>/eval_all_folds.json``.

Every metric is defined in ``lgpn_jax.metrics`` and restated in the JSON's
``definitions``. The JSON is written by process 0 only; every process runs
the same evaluation over the whole data (no collectives).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import re
import time
from typing import Any, Mapping

import numpy as np

from lgpn_jax import continuous, folds, graphs, inference, metrics, regression
from lgpn_jax import schema

# Defaults of config.eval (configs/default.py); a config without an ``eval``
# section (e.g. a fold's saved config) gets these.
DEFAULTS = dict(
    batch_size=0,              # global eval batch; 0: config.train.eval_batch_size.
    normalisation='minmax',    # continuous.METHODS.
    ridge_l2=1e-3,             # regression.RidgeAccumulator.solve.
    f1_absent_class='ignore',  # metrics.ABSENT_CLASS.
    num_images=1,              # images averaged per prediction.
    num_pairs=2000,            # coordinated-attack pairs per set.
    pair_seed=0,
    far=0.05,                  # false-alarm rate of Pd@FAR.
    plots=True,
    num_mask_images=3,         # test images whose learned adjacency is plotted.
    refit_regression=False,    # True: refit even if regression.npz exists.
)

DEFINITIONS = dict(
    node_prediction='P(node=1) >= 0.5 (2-way argmax; a tie counts as 1).',
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
  """config.eval merged over DEFAULTS; batch size resolved."""
  out = dict(DEFAULTS)
  ev = config.get('eval') if hasattr(config, 'get') else None
  if ev is not None:
    for k in ev.keys():
      out[k] = ev[k]
  if not out['batch_size']:
    train = config.get('train') if hasattr(config, 'get') else None
    out['batch_size'] = (train.get('eval_batch_size', 0) if train else 0) or 64
  if out['normalisation'] not in continuous.METHODS:
    raise ValueError(f'eval.normalisation must be one of {continuous.METHODS}')
  if out['f1_absent_class'] not in metrics.ABSENT_CLASS:
    raise ValueError(f'eval.f1_absent_class must be one of '
                     f'{metrics.ABSENT_CLASS}')
  if int(out['num_images']) < 1:
    raise ValueError(f'num_images must be >= 1, got {out["num_images"]}')
  return out


def fold_dir(workdir: str, fold: int) -> str:
  return os.path.join(os.fspath(workdir), f'fold{fold}')


def json_path(workdir: str, fold: int, num_images: int = 1) -> str:
  suffix = '' if num_images == 1 else f'_images{num_images}'
  return os.path.join(fold_dir(workdir, fold), f'eval_fold{fold}{suffix}.json')


def aggregate_path(workdir: str, num_images: int = 1) -> str:
  suffix = '' if num_images == 1 else f'_images{num_images}'
  return os.path.join(os.fspath(workdir), f'eval_all_folds{suffix}.json')


# --------------------------------------------------------------------------
# Loading a trained fold and its data.


@dataclasses.dataclass
class FoldModel:
  """A trained fold ready for inference."""
  model: Any                 # the flax module.
  variables: Any             # {'params', 'batch_stats'}.
  adjacency: np.ndarray      # [55, 55] the fold's training correlation graph.
  step: int | None
  fold: int
  protocol: str


def fold_of(fold_dir_path: str, default: int | None = None) -> int:
  m = re.fullmatch(r'fold(\d+)', os.path.basename(os.path.normpath(fold_dir_path)))
  if m:
    return int(m.group(1))
  if default is None:
    raise ValueError(f'cannot tell the fold of {fold_dir_path!r} (expected '
                     'a directory named fold<k>)')
  return default


def load_fold_model(config, fold_dir_path: str) -> FoldModel:
  """The model, variables and graph of ``<workdir>/fold{k}``.

  The model section comes from the fold's saved config (the architecture the
  checkpoint was trained with) when it has one, else from ``config``.
  """
  from lgpn_jax.model import build_model
  if not os.path.isdir(fold_dir_path):
    raise FileNotFoundError(f'no fold directory {fold_dir_path}: train the '
                            'fold first (train.py --config.fold=k)')
  try:
    from lgpn_jax import checkpoint
  except ImportError as e:
    raise RuntimeError('lgpn_jax.checkpoint is not available: cannot restore '
                       f'a checkpoint ({e})') from None
  fold = fold_of(fold_dir_path, config.get('fold'))
  saved = None
  if os.path.exists(os.path.join(fold_dir_path, 'config.json')):
    saved = checkpoint.load_fold_config(fold_dir_path)
  model_cfg = saved.model if saved is not None and 'model' in saved else config.model
  protocol = (saved.data.protocol if saved is not None and 'data' in saved
              else config.data.protocol)
  variables, step = checkpoint.restore_for_inference(fold_dir_path)
  adj_path = os.path.join(fold_dir_path, 'adjacency.npy')
  if os.path.exists(adj_path):
    adjacency = np.load(adj_path)
  else:
    tau = saved.graph.tau if saved is not None and 'graph' in saved else config.graph.tau
    logging.warning('%s missing: rebuilding the fold %d graph (tau %s)',
                    adj_path, fold, tau)
    adjacency = graphs.fold_correlation_graph(fold, tau, protocol)
  return FoldModel(build_model(model_cfg), variables, adjacency,
                   None if step is None else int(step), fold, protocol)


def open_builder(config):
  """The prepared data set named by ``config.data`` (built if needed), with
  the same build options as training (``trainer.data_builder``)."""
  from lgpn_jax import trainer
  return trainer.data_builder(config)


def _iterator(config, state: FoldModel, builder, split: str, ev: dict):
  from input_pipeline import pipeline  # TensorFlow: only when data is read.
  return pipeline.eval_iterator(
      builder, state.fold, state.protocol, batch_size=int(ev['batch_size']),
      split=split, image_size=int(config.data.image_size),
      process_index=0, process_count=1)


SEEN_FILE = 'seen_outputs.npz'


def save_seen(fold_dir_path: str, seen: Mapping, step: int | None) -> str:
  """Caches the training-split probabilities (float32) for the seen attacks."""
  path = os.path.join(fold_dir_path, SEEN_FILE)
  tmp = path + '.tmp.npz'
  np.savez(tmp, probabilities=seen['probabilities'].astype(np.float32),
           gm_index=seen['gm_index'], step=np.array(-1 if step is None else step))
  os.replace(tmp, path)
  return path


def load_seen(fold_dir_path: str, step: int | None) -> dict | None:
  """The cached seen outputs if they were made by checkpoint ``step``."""
  path = os.path.join(fold_dir_path, SEEN_FILE)
  if step is None or not os.path.exists(path):
    return None
  with np.load(path) as z:
    if int(z['step']) != step:
      return None
    return dict(probabilities=z['probabilities'].astype(np.float32),
                gm_index=z['gm_index'])


def train_pass(config, state: FoldModel, builder, *, fit: bool = True,
               predictor: inference.Predictor | None = None):
  """One pass over the fold's training split.

  Returns (regression head or None, seen) where seen holds probabilities
  [N, 55] and gm_index [N] of the generated training images. With ``fit``,
  the regression stage is fitted on the same images.
  """
  ev = settings(config)
  predictor = predictor or inference.Predictor(state.model, state.variables,
                                               state.adjacency)
  norm = continuous.for_fold(state.fold, state.protocol, ev['normalisation'])
  acc = None
  probs, gms = [], []
  for chunk in inference.iterate(predictor,
                                 _iterator(config, state, builder, 'train', ev)):
    gen = chunk['is_generated'] > 0
    if not gen.any():
      continue
    probs.append(chunk['probabilities'][gen])
    gms.append(chunk['gm_index'][gen])
    if fit:
      x = regression.hyperparameter_features(chunk['continuous_features'][gen])
      if acc is None:
        acc = regression.RidgeAccumulator.zeros(x.shape[-1])
      acc.update(x, norm.normalise(chunk['continuous'][gen]),
                 chunk['continuous_mask'][gen])
  if not probs:
    raise ValueError(f'fold {state.fold}: the training split has no '
                     'generated image')
  head = None
  if fit:
    head = acc.solve(float(ev['ridge_l2']))
    head.normaliser = norm
  return head, dict(probabilities=np.concatenate(probs),
                    gm_index=np.concatenate(gms))


def test_pass(config, state: FoldModel, builder, head, *,
              predictor: inference.Predictor | None = None) -> dict:
  """Outputs over the fold's test split, generated images only.

  probabilities [N, 55], regressed [N, 9] (normalised), label, gm_index,
  continuous, continuous_mask, and ``masks`` of the first few images.
  """
  ev = settings(config)
  predictor = predictor or inference.Predictor(
      state.model, state.variables, state.adjacency,
      mask_rows=int(ev['num_mask_images']))

  def chunks():
    for chunk in inference.iterate(
        predictor, _iterator(config, state, builder, 'test', ev)):
      gen = chunk['is_generated'] > 0
      out = {k: (tuple(m[gen[:len(m)]] for m in v) if isinstance(v, tuple)
                 else v[gen]) for k, v in chunk.items()}
      out['regressed'] = head.predict(out.pop('continuous_features'))
      yield out

  out = inference.collect(chunks(), max_masks=int(ev['num_mask_images']))
  if 'probabilities' not in out:
    raise ValueError(f'fold {state.fold}: the test split has no generated image')
  return out


# --------------------------------------------------------------------------
# The report (pure numpy: testable with fixed predictions).


def group_images(gm_index, num_images: int) -> list[np.ndarray]:
  """Row groups of ``num_images`` consecutive images of one GM (see DEFINITIONS)."""
  gm_index = np.asarray(gm_index)
  if num_images == 1:
    return [np.array([i]) for i in range(len(gm_index))]
  groups = []
  order = list(dict.fromkeys(gm_index.tolist()))
  for g in order:
    rows = np.flatnonzero(gm_index == g)
    for s in range(0, len(rows) - num_images + 1, num_images):
      groups.append(rows[s:s + num_images])
  return groups


def average_groups(outputs: Mapping[str, np.ndarray], groups) -> dict:
  """Averages probabilities / regressed within groups; labels from the first."""
  out = {}
  for k, v in outputs.items():
    if k == 'masks' or not isinstance(v, np.ndarray):
      continue
    if k in ('probabilities', 'regressed'):
      out[k] = np.stack([v[g].mean(0) for g in groups]) if groups else v[:0]
    else:
      out[k] = np.stack([v[g[0]] for g in groups]) if groups else v[:0]
  return out


def majority_prediction(train_gms) -> tuple[np.ndarray, np.ndarray]:
  """(node values [55] in {0,1}, per-column median normalised value is left
  to the caller): each node's most frequent value over the training GMs."""
  table = schema.label_table()[[schema.gm_index()[g] for g in train_gms]]
  ones = table.sum(0)
  return (ones > len(table) - ones).astype(np.float64), table


def majority_continuous(train_gms, norm: continuous.Normaliser) -> np.ndarray:
  """[9] median normalised value of the training GMs (reported ones only)."""
  values, mask = continuous.gm_table(train_gms)
  v = norm.normalise(values)
  return np.array([np.median(v[mask[:, j] > 0, j]) if (mask[:, j] > 0).any()
                   else np.nan for j in range(v.shape[1])])


def hyperparameters() -> list[dict]:
  """The 25 hyperparameters of the report: each loss node, the 9 continuous
  columns and the 6 discrete categories, with their node indices."""
  out = []
  for fam in ('loss', 'continuous', 'discrete'):
    groups: dict[str, list[int]] = {}
    for n in schema.nodes():
      if n.family == fam:
        groups.setdefault(n.name if fam == 'loss' else n.category, []).append(n.index)
    out += [dict(name=k, family=fam, nodes=v) for k, v in groups.items()]
  return out


def _choice(p: np.ndarray) -> np.ndarray:
  """Index of the chosen node of a multi-node hyperparameter; -1 = 'other'
  (every node < 0.5, the encoding of codes outside the tables)."""
  best = np.argmax(p, axis=-1)
  return np.where(np.max(p, axis=-1) >= 0.5, best, -1)


def score(probabilities, labels, regressed, targets, target_mask,
          absent_class: str = 'ignore') -> dict:
  """Node metrics and continuous L1 of fixed predictions (all rows scored)."""
  counts = metrics.NodeCounts.from_predictions(probabilities, labels)
  nm = metrics.node_metrics(counts, absent_class)
  l1 = metrics.L1Sums.from_predictions(regressed, targets, target_mask)
  per_l1 = l1.per_hyperparameter()
  return dict(counts=counts, nodes=nm, l1=l1, l1_per=per_l1, l1_mean=l1.mean())


def _summary(s: dict) -> dict:
  g = s['nodes']['groups']
  return dict(loss_f1=g['loss']['f1'], loss_accuracy=g['loss']['accuracy'],
              discrete_f1=g['discrete']['f1'],
              discrete_accuracy=g['discrete']['accuracy'],
              continuous_bin_f1=g['continuous']['f1'],
              continuous_bin_accuracy=g['continuous']['accuracy'],
              continuous_l1=s['l1_mean'])


def _per_hyperparameter(s: dict, probabilities, labels) -> list[dict]:
  rows = []
  f1, acc = s['nodes']['f1'], s['nodes']['accuracy']
  cols = list(schema.CONTINUOUS_COLUMNS)
  for h in hyperparameters():
    idx = h['nodes']
    row = dict(name=h['name'], family=h['family'], nodes=idx,
               f1=metrics._mean(f1[idx]), accuracy=metrics._mean(acc[idx]))
    if len(idx) > 1:
      pred = _choice(np.asarray(probabilities)[:, idx])
      true = _choice(np.asarray(labels)[:, idx])
      row['choice_accuracy'] = float(np.mean(pred == true)) if len(pred) else math.nan
    if h['family'] == 'continuous':
      j = cols.index(schema.nodes()[idx[0]].source_column)
      row['l1'] = float(s['l1_per'][j])
      row['num_reported'] = int(s['l1'].count[j])
    rows.append(row)
  return rows


def label_twins(test_gm: str, train_gms) -> list[str]:
  table = schema.label_table()
  me = table[schema.gm_index()[test_gm]]
  return [g for g in train_gms
          if np.array_equal(table[schema.gm_index()[g]], me)]


def _per_gm(outputs: Mapping, train_gms, absent_class: str) -> list[dict]:
  rows = []
  gms = schema.gms()
  nearest = schema.label_table()[[schema.gm_index()[g] for g in train_gms]]
  for g in list(dict.fromkeys(outputs['gm_index'].tolist())):
    sel = outputs['gm_index'] == g
    s = score(outputs['probabilities'][sel], outputs['label'][sel],
              outputs['regressed'][sel], outputs['targets'][sel],
              outputs['continuous_mask'][sel], absent_class)
    grp = s['nodes']['groups']
    pred = outputs['probabilities'][sel] >= 0.5
    exact = np.all(pred == (outputs['label'][sel] >= 0.5), axis=1)
    name = gms[g].name
    dist = np.abs(nearest - schema.label_table()[g]).sum(1)
    rows.append(dict(
        gm=name, num_images=int(sel.sum()),
        loss_accuracy=grp['loss']['accuracy'],
        discrete_accuracy=grp['discrete']['accuracy'],
        continuous_bin_accuracy=grp['continuous']['accuracy'],
        continuous_l1=s['l1_mean'],
        l1_per_hyperparameter=dict(zip(schema.CONTINUOUS_COLUMNS,
                                       s['l1_per'].tolist())),
        exact_match_rate=float(exact.mean()),
        label_twins_in_training=label_twins(name, train_gms),
        nearest_training_label_distance=int(dist.min())))
  return rows


def attack(seen: Mapping | None, unseen: Mapping, num_pairs: int, seed: int,
           far: float) -> tuple[dict, dict]:
  """(coordinated-attack metrics, ROC curves) for the seen / unseen sets."""
  sets, curves = {}, {}
  for name, data in (('seen', seen), ('unseen', unseen)):
    if data is None:
      continue
    a, b, same = metrics.sample_pairs(data['gm_index'], num_pairs, seed)
    d = metrics.descriptors(data['probabilities'])
    sim = metrics.cosine_similarity(d[a], d[b])
    sets[name] = (sim, same)
    if same.any() and (~same).any():
      fpr, tpr, _ = metrics.roc_curve(sim, same)
      curves[name] = (fpr, tpr)
  out = metrics.attack_metrics(sets, calibrate_on='seen', far=far)
  out.update(descriptor='2*P(node=1)-1 over the 55 nodes', similarity='cosine',
             calibrated_on='seen' if 'seen' in sets else 'each set itself',
             pair_seed=seed, requested_pairs=num_pairs)
  return out, curves


def build_report(test: Mapping, seen: Mapping | None, *, fold: int,
                 protocol: str, norm: continuous.Normaliser, ev: Mapping,
                 step: int | None = None) -> tuple[dict, dict]:
  """The evaluation JSON (a dict) and plot data, from collected outputs.

  ``test``: probabilities [N, 55], regressed [N, 9] (normalised), label,
  gm_index, continuous (raw), continuous_mask, generated images only.
  ``seen``: probabilities and gm_index of generated training images, or None.
  """
  fold_info = folds.get_fold(fold, protocol)
  absent = ev['f1_absent_class']
  k = int(ev['num_images'])
  single = dict(test)
  single['targets'] = norm.normalise(test['continuous'])
  groups = group_images(single['gm_index'], k)
  scored = average_groups(single, groups)
  if not groups:
    raise ValueError(f'no GM has {k} test images to group')
  s = score(scored['probabilities'], scored['label'], scored['regressed'],
            scored['targets'], scored['continuous_mask'], absent)

  # Majority baseline on the same rows.
  base_nodes, _ = majority_prediction(fold_info.train)
  base_cont = majority_continuous(fold_info.train, norm)
  n = len(scored['label'])
  base = score(np.tile(base_nodes, (n, 1)), scored['label'],
               np.tile(np.nan_to_num(base_cont), (n, 1)), scored['targets'],
               scored['continuous_mask'], absent)

  cols = schema.CONTINUOUS_COLUMNS
  names = [nd.name for nd in schema.nodes()]
  per_node = []
  for i, nd in enumerate(schema.nodes()):
    per_node.append(dict(
        index=i, name=nd.name, family=nd.family,
        f1=float(s['nodes']['f1'][i]), accuracy=float(s['nodes']['accuracy'][i]),
        num_positive=int(s['counts'].tp[i] + s['counts'].fn[i]),
        num_predicted_positive=int(s['counts'].tp[i] + s['counts'].fp[i]),
        baseline_f1=float(base['nodes']['f1'][i]),
        baseline_accuracy=float(base['nodes']['accuracy'][i])))
  per_h = _per_hyperparameter(s, scored['probabilities'], scored['label'])
  base_h = _per_hyperparameter(base, np.tile(base_nodes, (n, 1)), scored['label'])
  for row, b in zip(per_h, base_h):
    row['baseline'] = {k2: b[k2] for k2 in ('f1', 'accuracy', 'choice_accuracy',
                                            'l1') if k2 in b}
  attack_out, curves = attack(seen, single, int(ev['num_pairs']),
                              int(ev['pair_seed']), float(ev['far']))
  test_gms = sorted({schema.gms()[g].name for g in single['gm_index'].tolist()})
  report = dict(
      fold=fold, protocol=protocol, split='test', checkpoint_step=step,
      num_generated_images=int(len(single['label'])),
      images_per_prediction=k, num_predictions=n,
      num_images_used=int(sum(len(g) for g in groups)),
      test_gms=test_gms, missing_test_gms=sorted(set(fold_info.test) -
                                                  set(test_gms)),
      f1_absent_class=absent,
      summary=_summary(s),
      baseline_majority=dict(summary=_summary(base),
                             continuous_value=dict(zip(cols, base_cont.tolist())),
                             node_value=base_nodes.astype(int).tolist()),
      continuous_l1=dict(
          per_hyperparameter=dict(zip(cols, s['l1_per'].tolist())),
          mean=s['l1_mean'],
          num_reported=dict(zip(cols, s['l1'].count.astype(int).tolist())),
          normalisation=norm.to_dict(),
          masked='filters=999999 ("not reported", diffusion models)'),
      per_node=per_node,
      per_hyperparameter=per_h,
      per_gm=_per_gm(single, fold_info.train, absent),
      per_gm_note=PER_GM_NOTE,
      coordinated_attack=attack_out,
      definitions=DEFINITIONS,
      node_names=names)
  plot_data = dict(curves=curves, per_h=per_h)
  return report, plot_data


def _clean(obj):
  """JSON-safe: NaN/inf -> None, numpy -> python."""
  if isinstance(obj, dict):
    return {str(k): _clean(v) for k, v in obj.items()}
  if isinstance(obj, (list, tuple)):
    return [_clean(v) for v in obj]
  if isinstance(obj, np.ndarray):
    return _clean(obj.tolist())
  if isinstance(obj, (np.floating, float)):
    f = float(obj)
    return f if math.isfinite(f) else None
  if isinstance(obj, np.integer):
    return int(obj)
  if isinstance(obj, np.bool_):
    return bool(obj)
  return obj


def write_json(obj, path: str) -> str:
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  tmp = path + '.tmp'
  with open(tmp, 'w') as f:
    json.dump(_clean(obj), f, indent=1, allow_nan=False)
  os.replace(tmp, path)
  return path


# --------------------------------------------------------------------------
# Entry points.


def evaluate_fold(config, workdir: str, fold: int, *, num_images: int | None = None,
                  builder=None, model_state: FoldModel | None = None) -> str:
  """Evaluates ``<workdir>/fold{fold}`` on its unseen test GMs; returns the
  JSON path (see the module doc). ``builder``/``model_state`` default to
  ``open_builder(config)`` / ``load_fold_model(config, fold dir)``."""
  import jax
  folds.check_fold(fold, config.data.protocol)
  ev = settings(config)
  if num_images is not None:
    ev['num_images'] = int(num_images)
    if ev['num_images'] < 1:
      raise ValueError(f'num_images must be >= 1, got {num_images}')
  fdir = fold_dir(workdir, fold)
  start = time.time()
  state = model_state or load_fold_model(config, fdir)
  if state.fold != fold:
    raise ValueError(f'model state is fold {state.fold}, asked for fold {fold}')
  builder = builder if builder is not None else open_builder(config)
  reg_path = regression.path_for(fdir)
  fit = ev['refit_regression'] or not os.path.exists(reg_path)
  head_loaded = None
  if not fit:
    head_loaded = regression.RegressionHead.load(reg_path)
    want = continuous.for_fold(fold, state.protocol, ev['normalisation'])
    if (head_loaded.normaliser is None or
        head_loaded.normaliser.to_dict() != want.to_dict()):
      logging.info('%s uses another normalisation: refitting', reg_path)
      fit, head_loaded = True, None
    elif head_loaded.step != state.step:
      logging.info('%s was fitted at step %s, the checkpoint is at %s: '
                   'refitting', reg_path, head_loaded.step, state.step)
      fit, head_loaded = True, None
  predictor = inference.Predictor(state.model, state.variables, state.adjacency,
                                  mask_rows=int(ev['num_mask_images']))
  seen = None if fit else load_seen(fdir, state.step)
  seen_source = 'cached' if seen is not None else 'computed'
  if seen is None:
    head, seen = train_pass(config, state, builder, fit=fit, predictor=predictor)
    if fit:
      head.step = state.step
    if jax.process_index() == 0:
      os.makedirs(fdir, exist_ok=True)
      save_seen(fdir, seen, state.step)
      if fit:
        head.save(reg_path)
  if not fit:
    head = head_loaded
  test = test_pass(config, state, builder, head, predictor=predictor)
  report, plot_data = build_report(test, seen, fold=fold, protocol=state.protocol,
                                   norm=head.normaliser, ev=ev, step=state.step)
  report['regression'] = dict(
      path=os.path.basename(reg_path), refitted=bool(fit), l2=head.l2,
      fitted_at_step=head.step, seen_outputs=seen_source,
      train_images=dict(zip(schema.CONTINUOUS_COLUMNS, head.count.astype(int).tolist())),
      train_rmse=dict(zip(schema.CONTINUOUS_COLUMNS,
                          np.sqrt(head.train_mse).tolist())))
  report['seconds'] = round(time.time() - start, 2)
  path = json_path(workdir, fold, ev['num_images'])
  if jax.process_index() == 0:
    if ev['plots']:
      report['plots'] = _plots(fdir, ev, state, test, plot_data)
    write_json(report, path)
    logging.info('fold %d: %s', fold, format_summary(report))
  return path


def _plots(fdir: str, ev: Mapping, state: FoldModel, test: Mapping,
           plot_data: Mapping) -> list[str]:
  from lgpn_jax import plots
  out_dir = os.path.join(fdir, 'plots')
  suffix = '' if ev['num_images'] == 1 else f'_images{ev["num_images"]}'
  names = [n.name for n in schema.nodes()]
  paths = [
      plots.hyperparameter_f1(plot_data['per_h'],
                              os.path.join(out_dir, f'f1_per_hyperparameter{suffix}.png'),
                              title=f'fold {state.fold}: F1 per hyperparameter'),
      plots.adjacency(state.adjacency, names,
                      os.path.join(out_dir, 'correlation_graph.png'),
                      title=f'fold {state.fold} training correlation graph'),
  ]
  if plot_data['curves']:
    paths.append(plots.roc(plot_data['curves'],
                           os.path.join(out_dir, 'roc_coordinated_attack.png'),
                           far=float(ev['far'])))
  if test.get('masks'):
    gm_names = [schema.gms()[g].name for g in test['gm_index'][:len(test['masks'][0])]]
    paths.append(plots.learned_masks(test['masks'], gm_names,
                                     os.path.join(out_dir, 'learned_adjacency.png')))
  return [os.path.relpath(p, fdir) for p in paths]


def format_summary(report: Mapping) -> str:
  s = report['summary']
  b = report['baseline_majority']['summary']

  def pct(x):
    return 'n/a' if x is None or not math.isfinite(x) else f'{100 * x:.1f}'

  def l1(x):
    return 'n/a' if x is None or not math.isfinite(x) else f'{x:.3f}'

  return (f'loss F1/Acc {pct(s["loss_f1"])}/{pct(s["loss_accuracy"])}  '
          f'discrete F1/Acc {pct(s["discrete_f1"])}/{pct(s["discrete_accuracy"])}  '
          f'continuous L1 {l1(s["continuous_l1"])}  (majority baseline '
          f'{pct(b["loss_f1"])}/{pct(b["loss_accuracy"])}, '
          f'{pct(b["discrete_f1"])}/{pct(b["discrete_accuracy"])}, '
          f'{l1(b["continuous_l1"])})')


TABLE = (('loss_f1', 'loss F1'), ('loss_accuracy', 'loss Acc'),
         ('discrete_f1', 'discrete F1'), ('discrete_accuracy', 'discrete Acc'),
         ('continuous_l1', 'continuous L1'))


def aggregate_reports(reports: Mapping[int, Mapping]) -> dict:
  """Mean +- std over folds of the paper's table (and baseline, attacks)."""
  if not reports:
    raise ValueError('no fold report to aggregate')
  out = dict(folds=sorted(reports), table={}, baseline_majority={},
             coordinated_attack={}, per_fold={})
  for key, _ in TABLE:
    out['table'][key] = metrics.mean_std(
        [_num(r['summary'][key]) for r in reports.values()])
    out['baseline_majority'][key] = metrics.mean_std(
        [_num(r['baseline_majority']['summary'][key]) for r in reports.values()])
  for name in ('seen', 'unseen'):
    for key in ('accuracy', 'auc', 'pd_at_far'):
      vals = [_num(r['coordinated_attack'].get(name, {}).get(key))
              for r in reports.values()]
      out['coordinated_attack'].setdefault(name, {})[key] = metrics.mean_std(vals)
  for k, r in sorted(reports.items()):
    out['per_fold'][k] = dict(r['summary'], num_generated_images=r[
        'num_generated_images'], protocol=r['protocol'])
  protocols = {r['protocol'] for r in reports.values()}
  out['protocol'] = protocols.pop() if len(protocols) == 1 else sorted(protocols)
  out['images_per_prediction'] = sorted({r['images_per_prediction']
                                         for r in reports.values()})
  out['definitions'] = dict(std=DEFINITIONS['std'],
                            table='F1/accuracy as fractions (x100 in the '
                            'printed table); L1 of normalised values.')
  return out


def _num(x):
  return math.nan if x is None else float(x)


def format_table(agg: Mapping) -> str:
  """The paper's table: loss F1 / Acc | discrete F1 / Acc | continuous L1."""

  def cell(d, scale=100, fmt='.1f'):
    if not d['n']:
      return 'n/a'
    return f'{scale * d["mean"]:{fmt}} +- {scale * d["std"]:{fmt}}'

  rows = []
  for label, src in (('model', agg['table']), ('majority', agg['baseline_majority'])):
    rows.append(f'{label:9s} | {cell(src["loss_f1"])} / {cell(src["loss_accuracy"])}'
                f' | {cell(src["discrete_f1"])} / {cell(src["discrete_accuracy"])}'
                f' | {cell(src["continuous_l1"], 1, ".3f")}')
  head = (f'folds {agg["folds"]} ({agg["protocol"]} protocol)\n'
          f'{"":9s} | loss F1 / Acc | discrete F1 / Acc | continuous L1')
  ca = agg['coordinated_attack']
  attack = '\n'.join(
      f'coordinated attack {name}: acc {cell(ca[name]["accuracy"])}, '
      f'AUC {cell(ca[name]["auc"])}, Pd@FAR {cell(ca[name]["pd_at_far"])}'
      for name in ('seen', 'unseen') if name in ca)
  return '\n'.join([head] + rows + [attack])


def aggregate(workdir: str, num_images: int = 1) -> tuple[dict, str]:
  """Aggregates the ``eval_fold{k}.json`` present under ``workdir``; writes
  ``eval_all_folds.json``. Returns (aggregate, path)."""
  reports = {}
  for k in range(1, folds.NUM_FOLDS + 1):
    p = json_path(workdir, k, num_images)
    if os.path.exists(p):
      with open(p) as f:
        reports[k] = json.load(f)
  if not reports:
    raise FileNotFoundError(f'no eval_fold<k> JSON under {workdir}/fold<k>/: '
                            'evaluate the folds first')
  agg = aggregate_reports(reports)
  agg['table_text'] = format_table(agg)
  return agg, write_json(agg, aggregate_path(workdir, num_images))
