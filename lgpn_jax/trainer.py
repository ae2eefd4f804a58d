"""Training library: ``train_and_evaluate(config, workdir)`` for one fold.

Trains LGPN on fold ``config.fold`` (the GMs of the other test sets, the GMs in
no set and real images), data-parallel over every device of every host, then
runs the evaluation stage (continuous regression, then evaluation on the
fold's unseen GMs) when that code is present.

Fold directory ``<workdir>/fold{k}/``:
  config.json        the full config of the (latest) run: ``checkpoint.load_fold_config``
  adjacency.npy      [55, 55] float32 correlation graph of the fold's training
                     GMs (tau = config.graph.tau): evaluation uses exactly it
  checkpoints/<step>/ orbax; items ``model`` ({'params', 'batch_stats'}) and
                     ``train`` ({'step', 'opt_state'}); the last
                     ``train.keep_checkpoints`` are kept
  metrics.jsonl      a row at step 0 (FLOPs, parameter count, devices), then
                     one per ``train.log_every`` steps: means over the
                     interval of the loss and its terms, batch accuracies,
                     gradient / parameter norms, plus the learning rate,
                     images/s, seconds per step and data-wait seconds
  tensorboard/       the same scalars (when tensorboardX is installed)
  ... and what the evaluation stage writes (regression weights,
  eval_fold{k}.json, plots; see lgpn_jax/evaluate.py).

Steps and checkpoints: ``state.step`` counts updates applied; the checkpoint
named k holds the state after k updates. A checkpoint is written every
``train.checkpoint_every`` steps and at the end. Before every save, the
metrics of every step since the last check are fetched: a non-finite loss,
gradient norm or parameter norm stops the run with FloatingPointError, before
anything is saved, so no checkpoint ever holds a bad state.

Resuming: a run whose fold directory has checkpoints restores the latest one
(step, parameters, BatchNorm statistics, optimizer state) and continues to
``train.num_steps``. The *data position* is the number of global batches
consumed, which equals the restored step. With ``train.deterministic_data``
the training stream is a fixed function of ``config.seed`` (tf.data with
deterministic ordering), and ``train.resume_data`` says how to get back to
that position:
  * ``'skip'`` (default, exact): re-create the stream and discard ``step``
    batches (decoding them: costs host time proportional to the step);
  * ``'reseed'`` (instant, not exact): start a fresh stream seeded by
    (seed, step), so no batch is replayed but the order differs from an
    uninterrupted run.
Under 'skip' with deterministic data, an interrupted and resumed run ends with
the same parameters as an uninterrupted one (tests/test_train_e2e.py).

The train step (``train_step.py``) runs under ``parallel.DataParallel`` with
``train.parallel`` = 'shard_map' (jit of shard_map over the 1-D mesh 'data')
or 'pmap'. Compiled steps are cached per process, keyed by everything that
changes the program, so repeated calls (tests, sweeps) compile once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from typing import Any, Iterator

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from lgpn_jax import checkpoint, graphs, logging_utils, optim, parallel
from lgpn_jax import flops as flops_lib
from lgpn_jax import task_step, tasks, train_state, train_step
from lgpn_jax.model import build_model

RESUME_MODES = ('skip', 'reseed')
FLOPS_NOTE = ('batch-1 inference forward, 2 FLOPs per multiply-add: '
              'forward_matmul_flops_per_image counts convolutions and matmuls '
              '(the reference counter\'s rule, see lgpn_jax/flops.py); '
              'forward_flops_per_image is XLA cost_analysis of the lowered, '
              'uncompiled module (every op)')


@dataclasses.dataclass
class TrainResult:
  state: train_state.TrainState   # canonical (replicated global arrays).
  fold_dir: str
  step: int
  last_metrics: dict               # the last logged row ({} if none).
  eval_path: str | None = None     # eval_fold{k}.json, if evaluated.


def fold_directory(workdir: str, fold: int) -> str:
  return os.path.join(os.path.abspath(workdir), f'fold{fold}')


def is_main_process() -> bool:
  return jax.process_index() == 0


def _print(*args):
  if is_main_process():
    print(*args, flush=True)


def check_config(config: ml_collections.ConfigDict, num_devices: int) -> None:
  """Clear errors for settings that cannot work (before any compile)."""
  t = config.train
  if t.parallel not in parallel.MODES:
    raise ValueError(f'train.parallel must be one of {parallel.MODES}, got '
                     f'{t.parallel!r}')
  if t.resume_data not in RESUME_MODES:
    raise ValueError(f'train.resume_data must be one of {RESUME_MODES}, got '
                     f'{t.resume_data!r}')
  if t.batch_size % num_devices:
    raise ValueError(f'train.batch_size={t.batch_size} must be a multiple of '
                     f'the {num_devices} devices (every device gets the same '
                     'share)')
  for name in ('num_steps', 'log_every', 'checkpoint_every'):
    if t[name] < 1:
      raise ValueError(f'train.{name} must be >= 1, got {t[name]}')
  if t.keep_checkpoints < 1:
    raise ValueError('train.keep_checkpoints must be >= 1')
  if tasks.is_classification(config):
    tasks.spec(config)   # unknown GM names fail here, with close matches.


def training_model_config(config) -> ml_collections.ConfigDict:
  """config.model with BatchNorm synchronised over the mesh axis 'data'."""
  cfg = ml_collections.ConfigDict(config.model.to_dict())
  cfg.bn_axis_name = parallel.AXIS
  return cfg


# ----------------------------------------------------------------- compiling
@dataclasses.dataclass
class _Program:
  model: Any
  tx: Any
  schedule: Any
  runner: parallel.DataParallel
  init: Any          # jitted (seed, adjacency) -> replicated TrainState.
  abstract: train_state.TrainState


def _program_key(config, mesh, adjacency) -> str:
  t = config.train
  parts = dict(model=config.model.to_dict(), loss=config.loss.to_dict(),
               image_size=config.data.image_size,
               optim={k: t[k] for k in ('learning_rate', 'lr_decay_rate',
                                        'lr_decay_steps', 'warmup_steps',
                                        'weight_decay', 'b1', 'b2',
                                        'grad_clip_norm')},
               parallel=t.parallel,
               task=tasks.task_of(config),
               classes=(tasks.spec(config).num_classes
                        if tasks.is_classification(config) else 0),
               devices=[d.id for d in mesh.devices.flat],
               adjacency=hashlib.sha1(np.ascontiguousarray(
                   adjacency, np.float32).tobytes()).hexdigest())
  return json.dumps(parts, sort_keys=True, default=str)


_PROGRAMS: dict[str, _Program] = {}   # compiled programs of this process.


def _make_program(config, mesh, adjacency) -> _Program:
  tx, schedule = optim.make_optimizer(config.train)
  if tasks.is_classification(config):   # detection / attribution.
    from lgpn_jax.classifier import build_classifier
    model = build_classifier(training_model_config(config),
                             tasks.spec(config).num_classes)
    step = task_step.make_task_train_step(model, tx, schedule, adjacency)
  else:
    model = build_model(training_model_config(config))
    step = train_step.make_train_step(
        model, tx, schedule, config.loss, adjacency,
        train_step.hierarchy_targets(config.model))
  runner = parallel.DataParallel(step, mesh, config.train.parallel)
  init = jax.jit(train_state.init_fn(model, tx, config.data.image_size),
                 static_argnums=0, out_shardings=parallel.replicated(mesh))
  abstract = train_state.abstract_state(model, tx, config.data.image_size,
                                        adjacency, mesh)
  return _Program(model, tx, schedule, runner, init, abstract)


def build_program(config, mesh, adjacency) -> _Program:
  """Model, optimizer, data-parallel step and state init.

  Cached per process by everything that changes the compiled program (not
  by num_steps, logging or checkpoint settings), so repeated runs in one
  process (tests, sweeps) reuse the compiled step.
  """
  adjacency = np.ascontiguousarray(adjacency, np.float32)
  key = _program_key(config, mesh, adjacency)
  if key not in _PROGRAMS:
    if len(_PROGRAMS) >= 4:
      _PROGRAMS.pop(next(iter(_PROGRAMS)))
    _PROGRAMS[key] = _make_program(config, mesh, adjacency)
  return _PROGRAMS[key]


def forward_flops_per_image(model, abstract_state, image_size, adjacency):
  """(conv + matmul FLOPs, XLA's all-op FLOPs) of one image's inference
  forward pass; either may be None when it cannot be estimated."""
  variables = jax.tree.map(lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype),
                           abstract_state.variables)
  image = jax.ShapeDtypeStruct((1, image_size, image_size, 3), jnp.float32)
  adjacency = jnp.asarray(adjacency)
  fwd = lambda v, x: model.apply(v, x, adjacency, train=False)
  counts = []
  for count in (flops_lib.matmul_flops, flops_lib.xla_flops):
    try:
      counts.append(float(count(fwd, variables, image)))
    except Exception:  # noqa: BLE001 (a missing estimate must not stop training)
      counts.append(None)
  return tuple(counts)


# ---------------------------------------------------------------------- data
def data_builder(config):
  """The prepared TFDS builder of config.data (building it if needed).

  Process 0 builds first; the others wait, then open the same build.
  Synthetic build options come from config.data: ``synthetic_image_size``,
  ``images_per_gm``, ``num_real`` (None: the builder's defaults).
  """
  from input_pipeline import build  # TensorFlow is imported here only.
  d = config.data
  opts = {}
  if d.dataset == 'synthetic':
    opts['image_size'] = d.synthetic_image_size or d.image_size
    for k in ('images_per_gm', 'num_real'):
      if d[k] is not None:
        opts[k] = d[k]
  kwargs = dict(manual_dir=d.manual_dir or None, **opts)
  data_dir = d.data_dir or None
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils
    if is_main_process():
      build.ensure_built(d.dataset, data_dir, **kwargs)
    multihost_utils.sync_global_devices('lgpn_data_built')
  return build.ensure_built(d.dataset, data_dir,
                            verbose=is_main_process(), **kwargs)


def train_batches(config, builder, start_step: int) -> Iterator[dict]:
  """This host's share of the global batches from ``start_step`` on."""
  from input_pipeline import pipeline  # TensorFlow is imported here only.
  t = config.train
  seed = config.seed
  if start_step and t.resume_data == 'reseed':
    seed = (config.seed * 1_000_003 + start_step) % (2 ** 31 - 1)
  if tasks.is_classification(config):
    yield from _task_batches(config, builder, start_step, seed)
    return
  it = pipeline.train_iterator(
      builder, config.fold, config.data.protocol, batch_size=t.batch_size,
      image_size=config.data.image_size, real_fraction=t.real_fraction,
      seed=seed, deterministic=t.deterministic_data)
  if start_step and t.resume_data == 'skip':
    _print(f'resuming the data stream: skipping {start_step} batches')
    for _ in range(start_step):
      next(it)
  for batch in it:
    yield {k: batch[k] for k in train_step.BATCH_KEYS}


def _task_batches(config, builder, start_step: int, seed: int):
  """train_batches of detection / attribution (lgpn_jax/tasks.py)."""
  from input_pipeline import task_data  # TensorFlow is imported here only.
  t = config.train
  spec = tasks.spec(config)
  it = task_data.train_iterator(
      builder, spec.train_table, spec.train_by_hash, batch_size=t.batch_size,
      image_size=config.data.image_size,
      holdout_percent=config.task_data.holdout_percent,
      real_fraction=config.task_data.real_fraction, seed=seed,
      deterministic=t.deterministic_data)
  if start_step and t.resume_data == 'skip':
    for _ in range(start_step):
      next(it)
  for batch in it:
    yield {k: batch[k] for k in task_step.BATCH_KEYS}


# ------------------------------------------------------------------ training
def _non_finite_error(step, row, last_saved, ckpt_dir, config):
  return FloatingPointError(
      f'non-finite values at step {step}: loss={row["loss"]}, '
      f'grad_norm={row["grad_norm"]}, param_norm={row["param_norm"]}. '
      f'Training stopped without saving; the latest checkpoint is '
      f'{"step " + str(last_saved) if last_saved else "none"} in {ckpt_dir}. '
      f'Try a lower train.learning_rate (now {config.train.learning_rate}), '
      'train.warmup_steps or train.grad_clip_norm, or check the input data.')


def _mean_rows(rows: list[dict]) -> dict:
  out = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
  out['learning_rate'] = rows[-1]['learning_rate']
  return out


def train(config, fold_dir: str) -> TrainResult:
  """Trains (or resumes) one fold into ``fold_dir``; see the module doc."""
  t = config.train
  mesh = parallel.make_mesh()
  check_config(config, mesh.size)
  adjacency = graphs.fold_correlation_graph(config.fold, config.graph.tau,
                                            config.data.protocol)
  if is_main_process():
    checkpoint.save_fold_files(fold_dir, config, adjacency)
  prog = build_program(config, mesh, adjacency)
  mngr = checkpoint.manager(fold_dir, keep=t.keep_checkpoints)
  writer = logging_utils.MetricWriter(fold_dir, enabled=is_main_process())
  prefix = f'fold{config.fold}'
  try:
    state = checkpoint.restore(mngr, prog.abstract)
    if state is None:
      state = prog.init(int(config.seed), parallel.replicate(adjacency, mesh))
      start = 0
    else:
      start = int(parallel.host_value(state.step))
      _print(f'{prefix}: resumed from checkpoint step {start} in '
             f'{checkpoint.checkpoint_dir(fold_dir)}')
    if start == 0:
      matmul, flops = forward_flops_per_image(prog.model, prog.abstract,
                                              config.data.image_size, adjacency)
      info = dict(forward_flops_per_image=flops, flops_source=FLOPS_NOTE,
                  forward_matmul_flops_per_image=matmul,
                  num_params=train_state.num_params(prog.abstract.params),
                  devices=mesh.size, processes=jax.process_count(),
                  global_batch=t.batch_size, parallel=t.parallel)
      writer.write(0, info)
      _print(f'{prefix}: {info["num_params"]:,} parameters; forward '
             f'{(matmul or float("nan")) / 1e9:.3f} GFLOPs/image conv+matmul '
             f'({(flops or float("nan")) / 1e9:.3f} XLA, all ops); '
             f'{mesh.size} devices on '
             f'{jax.process_count()} process(es); global batch '
             f'{t.batch_size}; {t.parallel}')
    if start >= t.num_steps:
      _print(f'{prefix}: already trained to step {start} '
             f'(train.num_steps={t.num_steps})')
      return TrainResult(state, fold_dir, start, {})
    state, last_row = _loop(config, prog, mngr, writer, state, start,
                            fold_dir, prefix)
    return TrainResult(state, fold_dir, t.num_steps, last_row)
  finally:
    mngr.wait_until_finished()
    writer.close()


def _loop(config, prog, mngr, writer, state, start, fold_dir, prefix):
  """Steps start+1 .. num_steps: log, check, checkpoint. -> (state, last row)."""
  t = config.train
  runner = prog.runner
  batches = train_batches(config, data_builder(config), start)
  rng = runner.put_rng(jax.random.key(config.seed))
  state = runner.put_state(state)
  ckpt_dir = checkpoint.checkpoint_dir(fold_dir)
  pending: list[tuple[int, Any]] = []   # (step, device metrics) not yet read.
  last_row, last_saved = {}, mngr.latest_step()
  clock, timed, data_seconds, first_step_seconds = time.perf_counter(), 0, 0., 0.

  def flush(step):
    """Reads pending metrics, stops on non-finite ones, logs their mean."""
    nonlocal pending, clock, timed, data_seconds, last_row
    rows = [(s, runner.metrics(m)) for s, m in pending]
    for s, row in rows:
      if row['finite'] != 1.0:
        raise _non_finite_error(s, row, last_saved, ckpt_dir, config)
    seconds = ((time.perf_counter() - clock) / timed if timed
               else first_step_seconds)
    row = _mean_rows([r for _, r in rows])
    del row['finite']
    row.update(images_per_second=t.batch_size / seconds,
               seconds_per_step=seconds,
               data_seconds_per_step=data_seconds / max(timed, 1))
    if rows[0][0] == start + 1:
      row['first_step_seconds'] = first_step_seconds
    writer.write(step, row)
    _print(logging_utils.progress_line(prefix, step, t.num_steps, row,
                                       row['images_per_second'], seconds))
    last_row = row
    pending, clock, timed, data_seconds = [], time.perf_counter(), 0, 0.

  for step in range(start + 1, t.num_steps + 1):
    tic = time.perf_counter()
    host = next(batches)
    data_seconds += time.perf_counter() - tic
    state, metrics = runner(state, runner.put_batch(host), rng)
    pending.append((step, metrics))
    if step == start + 1:   # compile + first step: kept out of throughput.
      jax.block_until_ready(metrics)
      first_step_seconds = time.perf_counter() - tic
      _print(f'{prefix}: first step (compilation included) took '
             f'{first_step_seconds:.1f} s')
      clock, data_seconds = time.perf_counter(), 0.
    else:
      timed += 1
    save_now = step % t.checkpoint_every == 0 or step == t.num_steps
    if step % t.log_every == 0 or save_now:
      flush(step)
    if save_now:
      tic = time.perf_counter()
      last_saved = checkpoint.save(mngr, runner.get_state(state))
      clock += time.perf_counter() - tic   # saving is not step time.
  return runner.get_state(state), last_row


# ---------------------------------------------------------------- evaluation
def _optional(module: str):
  """Imports lgpn_jax.<module>, or None if that file does not exist yet."""
  import importlib
  try:
    return importlib.import_module(f'lgpn_jax.{module}')
  except ModuleNotFoundError as e:
    if e.name != f'lgpn_jax.{module}':
      raise
    return None


def evaluate(config, workdir: str, fold_dir: str) -> str | None:
  """Regression stage then evaluation of the fold, if that code exists."""
  if tasks.is_classification(config):   # detection / attribution.
    from lgpn_jax import task_eval
    path = task_eval.evaluate_task_fold(config, workdir, config.fold)
    _print(f'evaluation of fold {config.fold} ({config.task}): {path}')
    return path
  regression = _optional('regression')
  evaluation = _optional('evaluate')
  if regression is None or evaluation is None:
    _print('note: lgpn_jax/regression.py or lgpn_jax/evaluate.py is missing; '
           'skipping the regression and evaluation stages')
    return None
  regression.fit_for_fold(config, fold_dir)
  path = evaluation.evaluate_fold(config, workdir, config.fold)
  if path:
    plots = os.path.join(os.path.dirname(os.fspath(path)), 'plots')
    _print(f'evaluation of fold {config.fold}: {path}' + (
        f'\nplots: {plots}' if os.path.isdir(plots) else ''))
  return path


def train_and_evaluate(config: ml_collections.ConfigDict,
                       workdir: str) -> TrainResult:
  """Trains fold ``config.fold`` into ``<workdir>/fold{k}/``, then evaluates.

  Resumes from the fold's latest checkpoint if there is one. Evaluation runs
  when ``config.train.run_evaluation`` and the evaluation code is present.
  """
  fold_dir = fold_directory(workdir, config.fold)
  start = time.perf_counter()
  result = train(config, fold_dir)
  _print(f'fold{config.fold}: trained to step {result.step} in '
         f'{logging_utils.format_duration(time.perf_counter() - start)}; '
         f'checkpoints in {checkpoint.checkpoint_dir(fold_dir)}')
  if config.train.run_evaluation:
    result.eval_path = evaluate(config, workdir, fold_dir)
  return result
