"""Checkpoints of a fold: a save of replicated arrays on 8 devices compiles
nothing, and restores to the same numbers (on the mesh, and as numpy)."""

import logging

import jax
import numpy as np
import pytest

from lgpn_jax import checkpoint, mesh as mesh_lib

SHAPES = {'a': (3,), 'b': (4, 5), 'c': (2, 3, 7), 'd': (8,), 'e': (16, 16)}


def replicated_tree(mesh, seed):
  rng = np.random.default_rng(seed)
  return {k: mesh_lib.replicate(rng.normal(size=s).astype(np.float32), mesh)
          for k, s in SHAPES.items()}


def test_save_compiles_nothing_and_restores_the_same_numbers(tmp_path,
                                                             caplog):
  mesh = mesh_lib.make_mesh()
  assert mesh.devices.size == 8
  model = {'params': replicated_tree(mesh, 0),
           'batch_stats': replicated_tree(mesh, 2)}
  train = {'step': 3, 'opt_state': replicated_tree(mesh, 1)}
  fold = str(tmp_path)
  mngr = checkpoint.manager(fold)
  with jax.log_compiles(True), caplog.at_level(logging.WARNING):
    assert checkpoint.save(mngr, 3, model, train) == 3
    mngr.wait_until_finished()
  compiled = [r.getMessage() for r in caplog.records
              if r.getMessage().startswith('Compiling')]
  # (orbax's default replica-parallel save compiled a slicing program per
  # device for each array it can split evenly: 16 programs here.)
  assert not compiled, (len(compiled), compiled[:3])

  abstract = lambda tree: jax.tree.map(  # noqa: E731
      lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding)
      if isinstance(x, jax.Array) else x, tree)
  got_model, got_train = checkpoint.restore(
      checkpoint.manager(fold), abstract(model), abstract(train))
  for got, want in ((got_model, model), (got_train, train)):
    jax.tree.map(lambda g, w: np.testing.assert_array_equal(
        np.asarray(mesh_lib.host_value(g)), np.asarray(mesh_lib.host_value(w))),
        got, want)
  variables, step = checkpoint.restore_for_inference(fold)
  assert step == 3
  for k, x in model['params'].items():
    np.testing.assert_array_equal(variables['params'][k],
                                  mesh_lib.host_value(x))


if __name__ == '__main__':
  pytest.main([__file__])
