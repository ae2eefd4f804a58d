"""The model-parsing evaluation report, from collected predictions (pure numpy).

``build_report(test, seen, ...)`` scores fixed predictions: node F1 and
accuracy per group, continuous L1, per-node / per-hyperparameter / per-GM
tables, the majority-label baseline on the same rows and the coordinated
attacks; testable without a model.
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from lgpn_jax.evaluation import metrics
from lgpn_jax.evaluation.parsing.settings import DEFINITIONS, PER_GM_NOTE
from lgpn_jax.red140 import continuous, folds, schema


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
  return np.where(schema.node_decision(np.max(p, axis=-1)), best, -1)


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
    pred = schema.node_decision(outputs['probabilities'][sel])
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


POOLED_GRAPHS = (
    'Per (un)pooled level, P_g = the fraction of test GM g\'s images whose '
    'learned mask has each edge. between_gm: the mean over pairs of GMs of '
    'the mean |P_g - P_h| over the entries (0: every GM gets the same '
    'graph); within_gm: the mean over GMs and entries of 2 P_g (1 - P_g), a '
    'single image\'s mean |mask - P_g| (0: every image of a GM gets the same '
    'graph); edge_density: the mean of P_g.')


def pooled_graph_differences(gm_masks) -> dict | None:
  """How much the learned (un)pooled graphs depend on the GM.

  ``gm_masks['levels'][l]`` is [G, n, n]: per test GM, the fraction of its
  images with each edge at level l. Per level: ``between_gm`` = the mean over
  pairs of GMs of the mean |P_g - P_h| over the n x n entries (0: every GM
  gets the same graph); ``within_gm`` = the mean over GMs and entries of
  2 P (1 - P), the mean |m - P_g| of a single image's mask m around its GM's
  (0: every image of a GM gets the same graph); ``edge_density`` = mean P.
  None for heads without pooling.
  """
  if not gm_masks or not gm_masks.get('levels'):
    return None
  levels = []
  for p in gm_masks['levels']:
    p = np.asarray(p, np.float64)
    g = len(p)
    pairs = [np.abs(p[i] - p[j]).mean() for i in range(g)
             for j in range(i + 1, g)]
    levels.append(dict(nodes=int(p.shape[-1]),
                       between_gm=float(np.mean(pairs)) if pairs else None,
                       within_gm=float(np.mean(2 * p * (1 - p))),
                       edge_density=float(p.mean())))
  return dict(levels=levels, num_gms=int(len(gm_masks['gm_index'])),
              definition=POOLED_GRAPHS)


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
      pooled_graphs=pooled_graph_differences(test.get('gm_masks')),
      definitions=DEFINITIONS,
      node_names=names)
  plot_data = dict(curves=curves, per_h=per_h)
  return report, plot_data


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
