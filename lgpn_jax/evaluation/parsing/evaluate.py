"""Per-fold evaluation of a trained LGPN: ``evaluate_fold(config, workdir, fold)``.

  1. loads ``<workdir>/fold{k}/`` (checkpoint, ``adjacency.npy``,
     ``config.json``; ``evaluation/fold_model.py``);
  2. runs the model over the fold's TRAINING split once: fits the regression
     stage (``regression.npz``) and caches the node probabilities of
     generated images and the outputs of the fold's held-out images (the
     "seen" GMs of the coordinated attacks, ``parsing/attack.py``; never
     fitted on) in ``seen_outputs.npz``. Both are reused when they exist and
     were made from the same checkpoint step (``fit_for_fold``, which
     training runs first, writes them), so the training split is read once
     per checkpoint;
  3. runs it over the fold's TEST split (the unseen GMs), scores generated
     images only (real images and padding never count);
  4. writes ``<workdir>/fold{k}/eval_fold{k}.json`` (``eval_fold{k}_images{n}
     .json`` for ``num_images = n > 1``) with its ``provenance`` (command,
     config, data set, code and library versions, devices) and ``timing``,
     the per-image test predictions (``test_predictions_fold{k}.npz``) and
     PNG plots in ``<workdir>/fold{k}/plots/`` (the training curves from
     ``metrics.jsonl`` among them); returns the JSON path. Both passes print
     their progress.

Every metric is defined in ``lgpn_jax.evaluation.metrics`` and restated in
the JSON's ``definitions``. The JSON is written by process 0 only; every
process runs the same evaluation over the whole data (no collectives).
"""

from __future__ import annotations

import logging
import os
import time
from typing import Mapping

import jax
import numpy as np

from lgpn_jax import data, files, rundir
from lgpn_jax.evaluation import inference, plots, report_provenance
from lgpn_jax.evaluation.fold_model import FoldModel, load_fold_model
from lgpn_jax.evaluation.parsing import attack, passes, regression, report
from lgpn_jax.evaluation.parsing.settings import settings
from lgpn_jax.models.build import build_model
from lgpn_jax.red140 import continuous, folds, schema


def evaluate_fold(config, workdir: str, fold: int, *, num_images: int | None = None,
                  builder=None, model_state: FoldModel | None = None,
                  notes=None, build=build_model, tag: str = '') -> str:
  """Evaluates ``<workdir>/fold{fold}`` on its unseen test GMs; returns the
  JSON path (see the module doc). ``builder``/``model_state`` default to
  ``data.builder(config)`` / ``load_fold_model(config, fold dir, build)``
  (``build``: the task's model builder). ``tag`` names a further
  evaluation of the fold (e.g. of another test group,
  ``config.selection.test_group``): ``eval_fold{k}[_images{n}]_{tag}.json``,
  without plots (their names would collide)."""
  folds.check_fold(fold, config.data.protocol)
  ev = settings(config)
  if num_images is not None:
    ev['num_images'] = int(num_images)
    if ev['num_images'] < 1:
      raise ValueError(f'num_images must be >= 1, got {num_images}')
  fdir = rundir.fold_dir(workdir, fold)
  start = time.perf_counter()
  state = model_state or load_fold_model(config, fdir, build)
  if state.fold != fold:
    raise ValueError(f'model state is fold {state.fold}, asked for fold {fold}')
  builder = builder if builder is not None else data.builder(config)
  sel = passes.fold_selection(config, state)
  reg_path = rundir.regression_path(fdir)
  fit = ev['refit_regression'] or not os.path.exists(reg_path)
  head_loaded = None
  if not fit:
    head_loaded = regression.RegressionHead.load(reg_path)
    want = sel.normaliser(ev['normalisation'])
    if (head_loaded.normaliser is None or
        head_loaded.normaliser.to_dict() != want.to_dict()):
      logging.info('%s uses another normalisation: refitting', reg_path)
      fit, head_loaded = True, None
    elif head_loaded.step != state.step:
      logging.info('%s was fitted at step %s, the checkpoint is at %s: '
                   'refitting', reg_path, head_loaded.step, state.step)
      fit, head_loaded = True, None
  predictor = passes.test_predictor(config, state)
  loaded = time.perf_counter()
  seen = None if fit else passes.load_seen(fdir, state.step)
  if seen is not None and not attack.cache_matches(seen, sel):
    seen = None
  seen_source = 'cached' if seen is not None else 'computed'
  if seen is None:
    head, seen = _train_pass(config, state, builder, fdir, fit, predictor)
  if not fit:
    head = head_loaded
  tested = time.perf_counter()
  test = passes.test_pass(config, state, builder, head, predictor=predictor)
  per_image = {k: v for k, v in test.items() if k not in passes.PER_GRAPH}
  rep, plot_data = report.build_report(
      per_image, attack.heldout_outputs(seen, head), fold=fold,
      protocol=state.protocol, norm=head.normaliser, ev=ev, step=state.step,
      selection=sel)
  rep['regression'] = dict(
      path=os.path.basename(reg_path), refitted=bool(fit), l2=head.l2,
      fitted_at_step=head.step, seen_outputs=seen_source,
      train_images=dict(zip(schema.CONTINUOUS_COLUMNS, head.count.astype(int).tolist())),
      train_rmse=dict(zip(schema.CONTINUOUS_COLUMNS,
                          np.sqrt(head.train_mse).tolist())))
  if state.selected:
    rep['model_selection'] = files.read_json(rundir.selection_path(fdir))
    logging.warning('fold %d: %s', fold, rep['model_selection']['warning'])
  rep.update(notes or {})
  path = rundir.eval_path(workdir, fold, ev['num_images'], tag)
  if jax.process_index() == 0:
    rep['predictions'] = os.path.basename(save_predictions(
        rundir.predictions_path(workdir, fold, ev['num_images'], tag), test,
        head.normaliser))
    plotted = time.perf_counter()
    if ev['plots'] and not tag:
      rep['plots'] = _plots(fdir, ev, config, state, test, plot_data, rep)
    rep['provenance'] = report_provenance.block(config, builder)
    rep['timing'] = _timing(seen, seen_source, loaded - start,
                            plotted - tested, time.perf_counter() - plotted)
    rep['seconds'] = rep['timing']['total_seconds']
    files.write_json(rep, path)
    logging.info('fold %d: %s', fold, report.format_summary(rep))
  return path


TIMING_NOTE = ('total_seconds (= the top-level seconds) is the wall time of '
               'the whole evaluation from the checkpoint: loading, the '
               'training-split pass (regression fit and seen-GM outputs; '
               'also counted when an earlier run at the same checkpoint step '
               'made it, e.g. the end of training), the test-split pass and '
               'the plots.')


def _timing(seen, source: str, load: float, test: float, plots: float) -> dict:
  train = seen.get('seconds')
  train = None if train is None or not np.isfinite(train) else float(train)
  return dict(load_seconds=round(load, 2),
              train_split_seconds=None if train is None else round(train, 2),
              train_split=source, test_split_seconds=round(test, 2),
              plots_seconds=round(plots, 2),
              total_seconds=round(load + (train or 0) + test + plots, 2),
              note=TIMING_NOTE)


def save_predictions(path: str, test: Mapping,
                     norm: continuous.Normaliser) -> str:
  """Per-image test predictions (generated images, stream order) as .npz:
  probabilities [N, 55], p_generated [N] (if the model has the head),
  regressed [N, 9] (normalised) and regressed_raw, label, gm_index,
  continuous (raw targets), continuous_mask, and the names that index
  them (gm_names, node_names, continuous_columns)."""
  arrays = {k: np.asarray(test[k]) for k in (
      'probabilities', 'p_generated', 'regressed', 'label', 'gm_index',
      'continuous', 'continuous_mask') if k in test}
  arrays['regressed_raw'] = norm.denormalise(arrays['regressed'])
  return files.save_npz(
      path,
      gm_names=np.array([g.name for g in schema.gms()]),
      node_names=np.array([n.name for n in schema.nodes()]),
      continuous_columns=np.array(schema.CONTINUOUS_COLUMNS), **arrays)


def _train_pass(config, state: FoldModel, builder, fdir: str, fit: bool,
                predictor: inference.Predictor | None = None):
  """The training-split pass; saves its results (process 0) for reuse by
  the same checkpoint step. -> (regression head or None, seen outputs).
  Held-out images (coordinated-attack folds) are routed out of the fit."""
  start = time.perf_counter()
  sel = passes.fold_selection(config, state)
  collector = None
  if sel.holdout_percent:
    predictor = predictor or inference.Predictor(state.model, state.variables,
                                                 state.adjacency)
    collector = attack.HeldOutCollector(sel, predictor,
                                        int(settings(config)['batch_size']))
  head, seen = passes.train_pass(config, state, builder, fit=fit,
                                 predictor=predictor,
                                 wrap=collector.wrap if collector else None)
  if collector:
    seen.update(collector.outputs())
  seen['seconds'] = time.perf_counter() - start
  if fit:
    head.step = state.step
  if jax.process_index() == 0:
    os.makedirs(fdir, exist_ok=True)
    passes.save_seen(fdir, seen, state.step)
    if fit:
      head.save(rundir.regression_path(fdir))
  return head, seen


def fit_for_fold(config, fold_dir: str, *, builder=None, model_state=None,
                 build=build_model) -> str:
  """Fits the regression stage of a trained fold; saves ``regression.npz``.

  Runs the fold's checkpoint (``model_state``: a ``FoldModel``, loaded from
  ``fold_dir`` when None) over the fold's training split (``builder``:
  opened from ``config.data`` when None), normalises targets with
  ``config.eval.normalisation`` from the training GMs, solves ridge with
  ``config.eval.ridge_l2`` and returns the path written. The node
  probabilities of the same pass are cached for ``evaluate_fold``'s seen
  coordinated attacks.
  """
  state = model_state or load_fold_model(config, fold_dir, build)
  builder = builder if builder is not None else data.builder(config)
  _train_pass(config, state, builder, fold_dir, True)
  return rundir.regression_path(fold_dir)


def _plots(fdir: str, ev: Mapping, config, state: FoldModel, test: Mapping,
           plot_data: Mapping, rep: Mapping) -> list[str]:
  out_dir = rundir.plots_dir(fdir)
  suffix = '' if ev['num_images'] == 1 else f'_images{ev["num_images"]}'
  paths = [
      plots.hyperparameter_f1(
          plot_data['per_h'], rep['per_node'],
          os.path.join(out_dir, f'f1_per_hyperparameter{suffix}.png'),
          title=f'fold {state.fold} ({state.protocol} protocol), checkpoint '
                f'step {state.step}: F1 per hyperparameter on the unseen GMs'),
      plots.adjacency(state.adjacency,
                      os.path.join(out_dir, 'correlation_graph.png'),
                      title=f'fold {state.fold} correlation graph of its '
                            'training GMs', tau=float(config.graph.tau)),
  ]
  if plot_data['curves']:
    paths.append(plots.roc(plot_data['curves'],
                           os.path.join(out_dir, 'roc_coordinated_attack.png'),
                           far=float(ev['far'])))
  if test.get('correlations'):
    gm_names = [schema.gms()[g].name for g in test['graph_gm_index']]
    levels = plots.soft_levels(state.adjacency, test['correlations'],
                               test['masks'])
    paths.append(plots.learned_adjacency(
        levels, gm_names, os.path.join(out_dir, 'learned_adjacency.png'),
        threshold=float(config.model.get('edge_threshold', 0.1))))
  if os.path.exists(rundir.metrics_path(fdir)):
    paths.append(plots.training_curves(
        files.read_jsonl(rundir.metrics_path(fdir)),
        os.path.join(out_dir, 'training_curves.png'),
        title=f'fold {state.fold}: training (metrics.jsonl)'))
  return [os.path.relpath(p, fdir) for p in paths]
