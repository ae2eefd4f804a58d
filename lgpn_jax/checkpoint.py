"""Checkpoints of a fold directory (orbax) and the fold's saved config.

``<fold_dir>/checkpoints/<step>/`` holds two orbax items:
  * ``model``: {'params', 'batch_stats'}, all that inference needs;
  * ``train``: {'step', 'opt_state'}, only needed to resume training.
``restore_for_inference`` reads ``model`` alone (numpy arrays, whatever the
device count of the process), so evaluation never touches optimizer state.
Every process of a multi-host job calls ``save`` (orbax coordinates them).
"""

from __future__ import annotations

import json
import os

import jax
import ml_collections
import numpy as np
import orbax.checkpoint as ocp

from lgpn_jax.train_state import TrainState

CHECKPOINTS = 'checkpoints'
CONFIG_JSON = 'config.json'
ADJACENCY_NPY = 'adjacency.npy'
ITEMS = ('model', 'train')


def checkpoint_dir(fold_dir: str) -> str:
  return os.path.join(os.path.abspath(fold_dir), CHECKPOINTS)


def manager(fold_dir: str, keep: int | None = None,
            read_only: bool = False) -> ocp.CheckpointManager:
  """The fold's CheckpointManager (saves whenever ``save`` is called)."""
  handlers = {k: ocp.PyTreeCheckpointHandler() for k in ITEMS}
  if read_only:   # (orbax's read_only=True warns on every open.)
    options = ocp.CheckpointManagerOptions(create=False,
                                           save_interval_steps=0)
  else:
    options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True,
                                           save_interval_steps=1)
  return ocp.CheckpointManager(checkpoint_dir(fold_dir), options=options,
                               item_handlers=handlers)


def save(mngr: ocp.CheckpointManager, state: TrainState) -> int:
  """Saves ``state`` (replicated global arrays) at its step; returns the step.

  Asynchronous: arrays are copied to the host before this returns, so the
  caller may donate ``state`` to the next step. Call
  ``mngr.wait_until_finished()`` before exiting.
  """
  step = int(np.asarray(state.step.addressable_data(0))
             if isinstance(state.step, jax.Array) else state.step)
  mngr.save(step, args=ocp.args.Composite(
      model=ocp.args.PyTreeSave({'params': state.params,
                                 'batch_stats': state.batch_stats}),
      train=ocp.args.PyTreeSave({'step': state.step,
                                 'opt_state': state.opt_state})),
      force=True)
  return step


def restore(mngr: ocp.CheckpointManager, abstract: TrainState,
            step: int | None = None) -> TrainState | None:
  """The state at ``step`` (default: latest) laid out like ``abstract``
  (``jax.ShapeDtypeStruct`` leaves with shardings); None if no checkpoint."""
  step = mngr.latest_step() if step is None else step
  if step is None:
    return None
  model = {'params': abstract.params, 'batch_stats': abstract.batch_stats}
  train = {'step': abstract.step, 'opt_state': abstract.opt_state}

  def args(tree):
    return ocp.args.PyTreeRestore(
        item=tree, restore_args=ocp.checkpoint_utils.construct_restore_args(
            tree))

  out = mngr.restore(step, args=ocp.args.Composite(model=args(model),
                                                   train=args(train)))
  return TrainState(step=out['train']['step'], params=out['model']['params'],
                    batch_stats=out['model']['batch_stats'],
                    opt_state=out['train']['opt_state'])


def latest_step(fold_dir: str) -> int | None:
  if not os.path.isdir(checkpoint_dir(fold_dir)):
    return None
  return manager(fold_dir, read_only=True).latest_step()


def restore_for_inference(fold_dir: str, step: int | None = None
                          ) -> tuple[dict, int]:
  """(variables {'params', 'batch_stats'} as numpy arrays, step) of a fold.

  ``step`` defaults to the latest checkpoint. Needs no optimizer, no config
  and no particular device count; put the arrays on devices yourself (e.g.
  ``parallel.replicate(variables, mesh)``) or pass them to ``model.apply``.
  """
  steps = []
  if os.path.isdir(checkpoint_dir(fold_dir)):
    mngr = manager(fold_dir, read_only=True)
    steps = list(mngr.all_steps())
  if not steps:
    raise FileNotFoundError(f'no checkpoint in {checkpoint_dir(fold_dir)}; '
                            'train this fold first (python train.py ...)')
  step = max(steps) if step is None else step
  if step not in steps:
    raise FileNotFoundError(f'no checkpoint at step {step} in '
                            f'{checkpoint_dir(fold_dir)} (have '
                            f'{steps})')
  meta = mngr.item_metadata(step)['model']
  tree = meta.tree if hasattr(meta, 'tree') else meta
  as_numpy = jax.tree.map(lambda _: ocp.RestoreArgs(restore_type=np.ndarray),
                          tree)
  out = mngr.restore(step, args=ocp.args.Composite(
      model=ocp.args.PyTreeRestore(restore_args=as_numpy)))
  variables = dict(out['model'])
  variables.setdefault('batch_stats', {})
  return variables, int(step)


def save_fold_files(fold_dir: str, config: ml_collections.ConfigDict,
                    adjacency: np.ndarray) -> None:
  """Writes config.json and adjacency.npy (call on process 0 only)."""
  os.makedirs(fold_dir, exist_ok=True)
  with open(os.path.join(fold_dir, CONFIG_JSON), 'w') as f:
    f.write(config.to_json(indent=2, sort_keys=True))
  np.save(os.path.join(fold_dir, ADJACENCY_NPY),
          np.asarray(adjacency, np.float32))


def load_fold_config(fold_dir: str) -> ml_collections.ConfigDict:
  """The config a fold was trained with (from its config.json)."""
  path = os.path.join(fold_dir, CONFIG_JSON)
  if not os.path.exists(path):
    raise FileNotFoundError(f'{path} does not exist: {fold_dir} is not a '
                            'trained fold directory')
  with open(path) as f:
    return ml_collections.ConfigDict(json.load(f))


def load_adjacency(fold_dir: str) -> np.ndarray:
  """The [N, N] correlation graph the fold was trained with."""
  path = os.path.join(fold_dir, ADJACENCY_NPY)
  if not os.path.exists(path):
    raise FileNotFoundError(f'{path} does not exist: {fold_dir} is not a '
                            'trained fold directory')
  return np.load(path)
