"""Training one fold: ``train(config, fold_dir, task)``.

Trains ``task`` (lgpn_jax/tasks: the model, its loss terms and the training
stream) data-parallel over every device of every host. ``lgpn_jax/run.py``
composes this with the evaluation of the trained fold.

Fold directory (layout in ``lgpn_jax/rundir.py``):
  config.json        the full config of the fold's first run (what defines
                     the fold: a later run whose config disagrees on it
                     stops, lgpn_jax/fold_identity.py)
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
  tensorboard/       the same scalars

Steps and checkpoints: ``state.step`` counts updates applied; the checkpoint
named k holds the state after k updates. A checkpoint is written every
``train.checkpoint_every`` steps and at the end. Before every save, the
metrics of every step since the last check are fetched: a non-finite loss,
gradient norm or parameter norm stops the run with FloatingPointError, before
anything is saved, so no checkpoint ever holds a bad state.

Resuming: a run whose fold directory has checkpoints restores the latest one
(step, parameters, BatchNorm statistics, optimizer state) and continues to
``train.num_steps``. The *data position* is the number of global batches
consumed, which equals the restored step. Global batch s of the training
stream is a function of (``config.seed``, s) alone (input_pipeline/
index_stream.py), so the stream starts at any position at once, with nothing
read or decoded for the steps before; ``train.resume_data`` says which
position:
  * ``'exact'`` (default): the restored step, so an interrupted and resumed
    run ends with the same parameters as an uninterrupted one
    (tests/train/test_trainer_e2e.py);
  * ``'reseed'``: the restored step of a stream seeded by (seed, step): an
    order no earlier run used, e.g. to get past a batch that made the loss
    non-finite.

The train step (``step.py``) runs under ``parallel.DataParallel`` with
``train.parallel`` = 'shard_map' (jit of shard_map over the 1-D mesh 'data')
or 'pmap'. Compiled steps are cached per process, keyed by everything that
changes the program, so repeated calls (tests, sweeps) compile once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from typing import Any, Iterator

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from lgpn_jax import checkpoint, data, files, fold_identity
from lgpn_jax import mesh as mesh_lib, rundir
from lgpn_jax.perf import flops as flops_lib
from lgpn_jax.train import metric_writer, optim, parallel, preemption, resolve
from lgpn_jax.train import selection, state as state_lib
from lgpn_jax.train import step as step_lib

RESUME_MODES = ('exact', 'reseed')
# config.train fields that change the compiled step (optimizer and step).
OPTIMIZER_FIELDS = ('learning_rate', 'schedule', 'lr_decay_rate',
                    'lr_decay_steps', 'warmup_steps', 'lr_boundaries',
                    'lr_scales', 'reset_optimizer_at_boundaries',
                    'weight_decay', 'weight_decay_mode', 'b1', 'b2',
                    'grad_clip_norm', 'skip_all_real_batches')
FLOPS_NOTE = ('batch-1 inference forward, 2 FLOPs per multiply-add: '
              'forward_matmul_flops_per_image counts convolutions and matmuls '
              '(the reference counter\'s rule, see lgpn_jax/perf/flops.py); '
              'forward_flops_per_image is XLA cost_analysis of the lowered, '
              'uncompiled module (every op)')


@dataclasses.dataclass
class TrainResult:
  state: state_lib.TrainState   # canonical (replicated global arrays).
  fold_dir: str
  step: int
  last_metrics: dict               # the last logged row ({} if none).
  eval_path: str | None = None     # eval JSON, if evaluated.
  preempted: bool = False          # stopped by SIGTERM at ``step``, saved.


def is_main_process() -> bool:
  return jax.process_index() == 0


def print_main(*args):
  """print on process 0 only."""
  if is_main_process():
    print(*args, flush=True)


def check_config(config: ml_collections.ConfigDict, num_devices: int,
                 task) -> None:
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
  for name in ('log_every', 'checkpoint_every'):
    if t[name] < 1:
      raise ValueError(f'train.{name} must be >= 1, got {t[name]}')
  if t.get('num_epochs', 0) < 1 and t.num_steps < 1:
    raise ValueError(f'train.num_steps must be >= 1 (or train.num_epochs), '
                     f'got {t.num_steps}')
  if t.keep_checkpoints < 1:
    raise ValueError('train.keep_checkpoints must be >= 1')
  task.skip_term(t.get('skip_all_real_batches', False))
  task.check()


def training_model_config(config) -> ml_collections.ConfigDict:
  """config.model with BatchNorm synchronised over the mesh axis 'data'."""
  cfg = ml_collections.ConfigDict(config.model.to_dict())
  cfg.bn_axis_name = mesh_lib.AXIS
  return cfg


# ----------------------------------------------------------------- compiling
@dataclasses.dataclass
class _Program:
  model: Any
  tx: Any
  schedule: Any
  runner: parallel.DataParallel
  init: Any          # jitted (seed, adjacency) -> replicated TrainState.
  abstract: state_lib.TrainState


def _program_key(config, mesh, adjacency, task) -> str:
  t = config.train
  parts = dict(model=config.model.to_dict(), loss=config.loss.to_dict(),
               image_size=config.data.image_size,
               optim={k: t.get(k) for k in OPTIMIZER_FIELDS},
               parallel=t.parallel, **task.program_key(),
               devices=[d.id for d in mesh.devices.flat],
               adjacency=hashlib.sha1(np.ascontiguousarray(
                   adjacency, np.float32).tobytes()).hexdigest())
  return json.dumps(parts, sort_keys=True, default=str)


_PROGRAMS: dict[str, _Program] = {}   # compiled programs of this process.


def _make_program(config, mesh, adjacency, task) -> _Program:
  tx, schedule = optim.make_optimizer(config.train)
  model = task.build_model(training_model_config(config))
  step = step_lib.make_step(
      model, tx, schedule, adjacency, task.loss_terms, task.loss_weights,
      task.accuracy_terms,
      skip_if_empty=task.skip_term(config.train.get('skip_all_real_batches',
                                                    False)))
  runner = parallel.DataParallel(step, mesh, config.train.parallel)
  init = jax.jit(state_lib.init_fn(model, tx, config.data.image_size),
                 static_argnums=0, out_shardings=mesh_lib.replicated(mesh))
  abstract = state_lib.abstract_state(model, tx, config.data.image_size,
                                      adjacency, mesh)
  return _Program(model, tx, schedule, runner, init, abstract)


def build_program(config, mesh, adjacency, task) -> _Program:
  """Model, optimizer, data-parallel step and state init.

  Cached per process by everything that changes the compiled program (not
  by num_steps, logging or checkpoint settings), so repeated runs in one
  process (tests, sweeps) reuse the compiled step.
  """
  adjacency = np.ascontiguousarray(adjacency, np.float32)
  key = _program_key(config, mesh, adjacency, task)
  if key not in _PROGRAMS:
    if len(_PROGRAMS) >= 4:
      _PROGRAMS.pop(next(iter(_PROGRAMS)))
    _PROGRAMS[key] = _make_program(config, mesh, adjacency, task)
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
def train_batches(config, task, builder, start_step: int) -> Iterator[dict]:
  """This host's share of the global batches from ``start_step`` on."""
  seed = config.seed
  if start_step and config.train.resume_data == 'reseed':
    seed = (config.seed * 1_000_003 + start_step) % (2 ** 31 - 1)
  return task.train_batches(builder, seed, start_step)


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


def train(config, fold_dir: str, task) -> TrainResult:
  """Trains (or resumes) one fold into ``fold_dir``; see the module doc."""
  mesh = mesh_lib.make_mesh()
  check_config(config, mesh.size, task)
  adjacency = task.adjacency()
  fold_identity.check(config, fold_dir, action='train')
  if is_main_process() and not rundir.has_config(fold_dir):
    rundir.save_fold_files(fold_dir, config, adjacency)   # the first run.
  config = resolve.resolve_steps(
      config, task.num_train_examples(data.builder(config))
      if resolve.uses_epochs(config.train) else None)
  t = config.train
  prog = build_program(config, mesh, adjacency, task)
  mngr = checkpoint.manager(fold_dir, keep=t.keep_checkpoints)
  writer = metric_writer.MetricWriter(fold_dir, enabled=is_main_process(),
                                      resume_step=_or(mngr.latest_step(), -1))
  prefix = f'fold{config.fold}'
  try:
    state = state_lib.restore_checkpoint(mngr, prog.abstract)
    if state is None:
      state = prog.init(int(config.seed), mesh_lib.replicate(adjacency, mesh))
      state = _pretrained(state, task, prog, mesh, fold_dir)
      start = 0
    else:
      start = int(mesh_lib.host_value(state.step))
      print_main(f'{prefix}: resumed from checkpoint step {start} in '
                 f'{rundir.checkpoint_dir(fold_dir)}')
    if start == 0:
      matmul, flops = forward_flops_per_image(prog.model, prog.abstract,
                                              config.data.image_size, adjacency)
      info = dict(forward_flops_per_image=flops, flops_source=FLOPS_NOTE,
                  forward_matmul_flops_per_image=matmul,
                  num_params=state_lib.num_params(prog.abstract.params),
                  devices=mesh.size, processes=jax.process_count(),
                  global_batch=t.batch_size, parallel=t.parallel)
      writer.write(0, info)
      print_main(f'{prefix}: {info["num_params"]:,} parameters; forward '
                 f'{(matmul or float("nan")) / 1e9:.3f} GFLOPs/image '
                 f'conv+matmul ({(flops or float("nan")) / 1e9:.3f} XLA, all '
                 f'ops); {mesh.size} devices on {jax.process_count()} '
                 f'process(es); global batch {t.batch_size}; {t.parallel}')
    if start >= t.num_steps:
      print_main(f'{prefix}: already trained to step {start} '
                 f'(train.num_steps={t.num_steps})')
      return TrainResult(state, fold_dir, start, {})
    with preemption.Preemption() as preempt:
      state, step, last_row = _loop(config, task, prog, mngr, writer, state,
                                    start, fold_dir, prefix, preempt)
    return TrainResult(state, fold_dir, step, last_row,
                       preempted=step < t.num_steps)
  finally:
    mngr.wait_until_finished()
    writer.close()


def _loop(config, task, prog, mngr, writer, state, start, fold_dir, prefix,
          preempt):
  """Steps start+1 .. num_steps: log, check, checkpoint; stops early (saved)
  when ``preempt`` says so. -> (state, last step done, last row)."""
  t = config.train
  runner = prog.runner
  batches = train_batches(config, task, data.builder(config), start)
  rng = runner.put_rng(jax.random.key(config.seed))
  state = runner.put_state(state)
  selector = selection.Selector(config, fold_dir, task, data.builder(config),
                                is_main_process())
  if selector.enabled:
    print_main(f'{prefix}: warning: {selection.WARNING}')
  ckpt_dir = rundir.checkpoint_dir(fold_dir)
  pending: list[tuple[int, Any]] = []   # (step, device metrics) not yet read.
  last_row, last_saved = {}, mngr.latest_step()
  clock, timed, data_seconds, first_step_seconds = time.perf_counter(), 0, 0., 0.

  def flush(step, extra=None):
    """Reads pending metrics, stops on non-finite ones, logs their mean
    (plus ``extra()``'s row, computed once the metrics are known finite)."""
    nonlocal pending, clock, timed, data_seconds, last_row
    rows = [(s, runner.metrics(m)) for s, m in pending]
    for s, row in rows:
      if row['finite'] != 1.0:   # the diverging step's row, then stop.
        writer.write(s, {k: v for k, v in row.items() if k != 'finite'})
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
    if extra is not None:
      row.update(extra())
    writer.write(step, row)
    print_main(metric_writer.progress_line(prefix, step, t.num_steps, row,
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
      print_main(f'{prefix}: first step (compilation included) took '
             f'{first_step_seconds:.1f} s')
      clock, data_seconds = time.perf_counter(), 0.
    else:
      timed += 1
    stop = preempt.due(step)
    save_now = step % t.checkpoint_every == 0 or step == t.num_steps or stop
    select = selector.due(step)
    if step % t.log_every == 0 or save_now or select:
      flush(step, (lambda: selector(step, host_state(runner.get_state(state))))
            if select else None)
    if save_now:
      tic = time.perf_counter()
      last_saved = state_lib.save_checkpoint(mngr, runner.get_state(state))
      clock += time.perf_counter() - tic   # saving is not step time.
    if stop:
      mngr.wait_until_finished()
      print_main(f'{prefix}: preempted: saved step {step} in {ckpt_dir}; '
                 'run the same command to resume')
      break
  selector.close()
  return runner.get_state(state), step, last_row


def _pretrained(state, task, prog, mesh, fold_dir):
  """The fresh state with the task's pretrained weights (model.init_from),
  its optimizer state made anew for them; the load report is printed and
  saved as <fold_dir>/init_from.txt."""
  variables, report = task.pretrained(host_state(state).variables)
  if report is None:
    return state
  print_main(report)
  if is_main_process():
    files.write_text(report + '\n', rundir.init_report_path(fold_dir))
  variables = mesh_lib.replicate(variables, mesh)
  opt_state = jax.jit(prog.tx.init, out_shardings=mesh_lib.replicated(mesh))(
      variables['params'])
  return state.replace(params=variables['params'],
                       batch_stats=variables['batch_stats'],
                       opt_state=opt_state)


def _or(value, default):
  return default if value is None else value


def host_state(state):
  """A canonical (replicated global) state as numpy arrays."""
  return jax.tree.map(mesh_lib.host_value, state)
