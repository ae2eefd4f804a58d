"""Multi-image prediction with the concatenation head (rebuttal R.5).

Two ways to predict from k images of one GM:
  * averaging: eval.py --num_images=k averages the k single-image
    predictions (``report.average_groups``; ``eval_fold{f}_images{k}.json``);
  * concatenation (here): the node features of the k images are concatenated
    and a small head trained on them predicts once
    (``models/concat_head.ConcatHead``).
``evaluate_concat(config, workdir, fold, ks)`` runs the second one on a
trained fold, cheaply: LGPN stays frozen, so its node features are computed
once and every k trains only the head.
  1. node features (after the graph head) of the fold's generated training
     images, at most ``max_images_per_gm`` per GM (the first ones of the
     stream; held-out images excluded), and of every test image;
  2. per k: a head trained on random groups of k images of one training GM
     (optax Adam, ``steps`` steps of ``batch_size`` groups, seeded): sigmoid
     cross-entropy summed over the nodes plus the squared error of the
     normalised continuous values where reported; labels and the normaliser
     are the fold's (``red140.selection``);
  3. each test GM's images, in stream order, cut into consecutive groups of k
     (the averaging variant's groups; a last, shorter group is dropped), one
     prediction per group, scored like every evaluation
     (``report.build_report``) and written to
     ``eval_fold{f}[_images{k}]_concat.json`` with ``multi_image`` settings.
Settings: ``config.multi_image`` (absent: ``DEFAULTS``). Our choices: the head,
its size and schedule (the rebuttal gives none).
"""

from __future__ import annotations

import os
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lgpn_jax import data, files, rundir
from lgpn_jax.evaluation import inference
from lgpn_jax.evaluation.fold_model import FoldModel, load_fold_model
from lgpn_jax.evaluation.parsing import passes, regression, report
from lgpn_jax.evaluation.parsing.settings import settings
from lgpn_jax.models.concat_head import ConcatHead

DEFAULTS = dict(hidden=128, steps=2000, batch_size=64, learning_rate=1e-3,
                max_images_per_gm=256, seed=0)
TAG = 'concat'


def concat_settings(config) -> dict:
  given = config.get('multi_image') if hasattr(config, 'get') else None
  out = dict(DEFAULTS, **(dict(given.items()) if given is not None else {}))
  unknown = sorted(set(out) - set(DEFAULTS))
  if unknown:
    raise KeyError(f'config.multi_image has unknown fields {unknown}')
  return out


def _features(config, state: FoldModel, builder, split: str, cap: int | None
              ) -> dict:
  """node_features [N, 55, D] (float16) and gm_index [N] of the generated
  images of a split; at most ``cap`` per GM; held-out images left out."""
  ev = settings(config)
  sel = passes.fold_selection(config, state)
  predictor = inference.Predictor(
      state.model, state.variables, state.adjacency,
      outputs=lambda out, _: dict(node_features=out['node_features']
                                  .astype(jnp.float16)))
  counts: dict[int, int] = {}

  def limited(batches):
    for batch in batches:
      batch = dict(batch)
      gm = np.asarray(batch['gm_index'])
      keep = (np.asarray(batch['mask']) > 0) & (gm >= 0)
      keep &= ~sel.held_out(batch['image'], gm)
      if cap is not None:
        for i in np.flatnonzero(keep):
          counts[gm[i]] = counts.get(gm[i], 0) + 1
          keep[i] = counts[gm[i]] <= cap
      batch['mask'] = keep.astype(np.float32)
      yield batch

  out = inference.collect(inference.iterate(
      predictor, limited(passes.eval_batches(config, state, builder, split,
                                             ev))),
      keys=('node_features', 'gm_index'))
  if 'gm_index' not in out:
    raise ValueError(f'fold {state.fold}: no generated {split} image')
  return out


def train_head(features, gm_index, targets, k: int, opts: dict):
  """(head, params, last loss) trained on groups of k images of one GM.

  ``targets``: dict(labels [140, 55], values [140, 9] normalised,
  mask [140, 9]) indexed by gm_index.
  """
  feats = np.asarray(features)
  gm = np.asarray(gm_index)
  members = {g: np.flatnonzero(gm == g) for g in np.unique(gm)}
  keys = sorted(members)
  head = ConcatHead(tuple(map(tuple, regression.continuous_node_indices())),
                    hidden=int(opts['hidden']))
  rng = np.random.default_rng(int(opts['seed']))
  params = head.init(jax.random.key(int(opts['seed'])),
                     jnp.zeros((1, k) + feats.shape[1:], jnp.float32))
  tx = optax.adam(float(opts['learning_rate']))
  opt_state = tx.init(params)
  labels, values, mask = (jnp.asarray(targets[n], jnp.float32)
                          for n in ('labels', 'values', 'mask'))

  def loss_fn(p, x, g):
    out = head.apply(p, x)
    bce = optax.sigmoid_binary_cross_entropy(out['node_logits'], labels[g])
    m = mask[g]
    sq = jnp.sum(m * jnp.square(out['regressed'] - values[g]))
    return bce.sum(-1).mean() + sq / jnp.maximum(m.sum(), 1.0)

  @jax.jit
  def step(p, o, x, g):
    loss, grads = jax.value_and_grad(loss_fn)(p, x, g)
    updates, o = tx.update(grads, o, p)
    return optax.apply_updates(p, updates), o, loss

  loss = np.nan
  for _ in range(int(opts['steps'])):
    pick = rng.choice(len(keys), int(opts['batch_size']))
    rows = np.stack([rng.choice(members[keys[i]], k,
                                replace=len(members[keys[i]]) < k)
                     for i in pick])
    params, opt_state, loss = step(params, opt_state,
                                   jnp.asarray(feats[rows], jnp.float32),
                                   jnp.asarray([keys[i] for i in pick]))
  return head, params, float(loss)


def predict(head, params, features, groups, chunk: int = 256) -> dict:
  """probabilities [G, 55] and regressed [G, 9] of the image groups."""
  fwd = jax.jit(lambda p, x: head.apply(p, x))
  probs, reg = [], []
  feats = np.asarray(features)
  for s in range(0, len(groups), chunk):
    x = jnp.asarray(feats[np.stack(groups[s:s + chunk])], jnp.float32)
    out = fwd(params, x)
    probs.append(np.asarray(jax.nn.sigmoid(out['node_logits'])))
    reg.append(np.asarray(out['regressed']))
  return dict(probabilities=np.concatenate(probs),
              regressed=np.concatenate(reg))


def evaluate_concat(config, workdir: str, fold: int, ks=(1, 4, 8, 12), *,
                    builder=None, model_state: FoldModel | None = None
                    ) -> dict[int, str]:
  """Trains and scores the concatenation head for each k; {k: JSON path}."""
  opts = concat_settings(config)
  ev = dict(settings(config), num_images=1)
  fdir = rundir.fold_dir(workdir, fold)
  state = model_state or load_fold_model(config, fdir)
  builder = builder if builder is not None else data.builder(config)
  sel = passes.fold_selection(config, state)
  norm = sel.normaliser(ev['normalisation'])
  values, mask = sel.continuous()
  targets = dict(labels=sel.labels(), values=np.nan_to_num(
      norm.normalise(values) * mask), mask=mask)
  start = time.time()
  train = _features(config, state, builder, 'train',
                    int(opts['max_images_per_gm']))
  test = _features(config, state, builder, 'test', None)
  gm = test['gm_index']
  paths = {}
  for k in ks:
    groups = report.group_images(gm, int(k))
    if not groups:
      raise ValueError(f'fold {fold}: no test GM has {k} images')
    head, params, loss = train_head(train['node_features'],
                                    train['gm_index'], targets, int(k), opts)
    pred = predict(head, params, test['node_features'], groups)
    first = np.array([g[0] for g in groups])
    rows = dict(pred, gm_index=gm[first], label=targets['labels'][gm[first]],
                continuous=values[gm[first]], continuous_mask=mask[gm[first]])
    rep, _ = report.build_report(rows, None, fold=fold,
                                 protocol=state.protocol, norm=norm, ev=ev,
                                 step=state.step, selection=sel)
    rep.pop('coordinated_attack')         # single images only.
    rep.update(images_per_prediction=int(k), num_predictions=len(groups),
               num_images_used=int(k) * len(groups),
               num_generated_images=int(len(gm)),
               multi_image=dict(method='concatenation head', k=int(k),
                                settings=opts, final_train_loss=loss,
                                train_images=int(len(train['gm_index']))),
               seconds=round(time.time() - start, 2))
    path = rundir.eval_path(workdir, fold, int(k), TAG)
    if jax.process_index() == 0:
      os.makedirs(fdir, exist_ok=True)
      files.write_json(rep, path)
    paths[int(k)] = path
  return paths
