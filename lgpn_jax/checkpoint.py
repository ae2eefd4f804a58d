"""Checkpoints of a fold directory (orbax).

``<fold_dir>/checkpoints/<step>/`` holds two orbax items:
  * ``model``: {'params', 'batch_stats'}, all that inference needs;
  * ``train``: {'step', 'opt_state'}, only needed to resume training.
``restore_for_inference`` reads ``model`` alone (numpy arrays, whatever the
device count of the process), so evaluation never touches optimizer state.
Every process of a multi-host job calls ``save`` (orbax coordinates them).
"""

from __future__ import annotations

import os

import jax
import numpy as np
import orbax.checkpoint as ocp

from lgpn_jax import rundir

ITEMS = ('model', 'train')


def _handler() -> ocp.PyTreeCheckpointHandler:
  """orbax's PyTree handler, with one replica writing each array.

  By default orbax (off GPUs) splits each replicated array into one slice
  per device and writes the slices in parallel: every distinct (shape,
  device) pair then compiles a slicing program at the first save (~300
  programs, ~13 s for the tiny model on 8 CPU devices), to parallelise
  writes of at most a few hundred MB. Otherwise orbax's defaults.
  """
  default = ocp.type_handlers.get_type_handler(jax.Array)
  array = ocp.type_handlers.ArrayHandler(
      use_replica_parallel=False,
      array_metadata_store=getattr(default, '_array_metadata_store', None))
  registry = ocp.type_handlers.create_type_handler_registry(*[
      (ty, array if ty is jax.Array else ocp.type_handlers.get_type_handler(ty))
      for ty in ocp.type_handlers.supported_types()])
  return ocp.PyTreeCheckpointHandler(type_handler_registry=registry)


def manager(fold_dir: str, keep: int | None = None,
            read_only: bool = False,
            selected: bool = False) -> ocp.CheckpointManager:
  """The fold's CheckpointManager (saves whenever ``save`` is called);
  ``selected``: the one of the released model selection."""
  handlers = {k: _handler() for k in ITEMS}
  if read_only:   # (orbax's read_only=True warns on every open.)
    options = ocp.CheckpointManagerOptions(create=False,
                                           save_interval_steps=0)
  else:
    options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True,
                                           save_interval_steps=1)
  return ocp.CheckpointManager(rundir.checkpoint_dir(fold_dir, selected),
                               options=options, item_handlers=handlers)


def save(mngr: ocp.CheckpointManager, step, model: dict, train: dict) -> int:
  """Saves the ``model`` and ``train`` trees (global arrays) at ``step``.

  ``step`` is the state's step (an int or a replicated array); returns it as
  an int. Asynchronous: arrays are copied to the host before this returns,
  so the caller may donate them to the next step. Call
  ``mngr.wait_until_finished()`` before exiting.
  """
  step = int(np.asarray(step.addressable_data(0))
             if isinstance(step, jax.Array) else step)
  mngr.save(step, args=ocp.args.Composite(
      model=ocp.args.PyTreeSave(model), train=ocp.args.PyTreeSave(train)),
      force=True)
  return step


def restore(mngr: ocp.CheckpointManager, model: dict, train: dict,
            step: int | None = None) -> tuple[dict, dict] | None:
  """(model, train) trees at ``step`` (default: latest), laid out like the
  given abstract trees (``jax.ShapeDtypeStruct`` leaves with shardings);
  None if there is no checkpoint."""
  step = mngr.latest_step() if step is None else step
  if step is None:
    return None

  def args(tree):
    return ocp.args.PyTreeRestore(
        item=tree, restore_args=ocp.checkpoint_utils.construct_restore_args(
            tree))

  out = mngr.restore(step, args=ocp.args.Composite(model=args(model),
                                                   train=args(train)))
  return out['model'], out['train']


def latest_step(fold_dir: str) -> int | None:
  if not os.path.isdir(rundir.checkpoint_dir(fold_dir)):
    return None
  return manager(fold_dir, read_only=True).latest_step()


def restore_for_inference(fold_dir: str, step: int | None = None,
                          selected: bool = False) -> tuple[dict, int]:
  """(variables {'params', 'batch_stats'} as numpy arrays, step) of a fold.

  ``step`` defaults to the latest checkpoint; ``selected`` reads the released
  model selection's checkpoint instead. Needs no optimizer, no config and no
  particular device count; put the arrays on devices yourself (e.g.
  ``mesh.replicate(variables, mesh)``) or pass them to ``model.apply``.
  """
  steps = []
  where = rundir.checkpoint_dir(fold_dir, selected)
  if os.path.isdir(where):
    mngr = manager(fold_dir, read_only=True, selected=selected)
    steps = list(mngr.all_steps())
  if not steps:
    raise FileNotFoundError(f'no checkpoint in {where}; train this fold '
                            'first (python train.py ...)')
  step = max(steps) if step is None else step
  if step not in steps:
    raise FileNotFoundError(f'no checkpoint at step {step} in {where} (have '
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
