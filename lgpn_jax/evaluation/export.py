"""A fold's inference function as a serialized StableHLO artifact (jax.export).

  path = export_fold(workdir, fold)          # <fold>/inference.jax_export
  infer = load(path)                         # no config, no Flax needed
  out = infer(images)                        # images [B, S, S, 3] in [-1, 1]

The exported function is the fold's model in inference mode (BatchNorm
running statistics, no dropout) with its variables and its graph baked in as
constants, so the file alone answers. Its input is ``float32 [B, S, S, 3]``
(S = the fold's ``data.image_size``, pixels already scaled to [-1, 1] as
``predict.read_image`` makes them) with a symbolic batch dimension B: one
artifact serves any batch size. Its outputs are those of predict and eval
(``inference.parsing_outputs``): ``probabilities`` [B, 55] P(node = 1),
``p_generated`` [B] and ``continuous_features`` [B, 27, D] (the regression
stage's input). The artifact is lowered for ``platforms`` (default: this
process's backend; e.g. ``('cpu', 'cuda')`` for one file that runs on both).
A JSON beside it (``<path>.json``) says what it is: fold, checkpoint step,
image size, input and outputs, platforms, JAX version.
"""

from __future__ import annotations

import os
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
from jax import export as jax_export

from lgpn_jax import files, rundir
from lgpn_jax.evaluation import inference
from lgpn_jax.evaluation.fold_model import load_fold_model
from lgpn_jax.evaluation.predict import fold_config

INPUT = 'images: float32 [batch, size, size, 3] in [-1, 1], batch symbolic'


def inference_function(state) -> Callable:
  """images -> the outputs of ``inference.parsing_outputs`` (variables and
  graph closed over as constants)."""
  select = inference.parsing_outputs()
  variables = jax.tree.map(jnp.asarray, state.variables)
  adjacency = jnp.asarray(state.adjacency, jnp.float32)

  def infer(images):
    return select(state.model.apply(variables, images, adjacency,
                                    train=False))

  return infer


def export_state(state, image_size: int,
                 platforms: Sequence[str] | None = None) -> jax_export.Exported:
  """The ``jax.export.Exported`` of a loaded fold (symbolic batch)."""
  (batch,) = jax_export.symbolic_shape('batch')
  spec = jax.ShapeDtypeStruct((batch, image_size, image_size, 3), jnp.float32)
  return jax_export.export(jax.jit(inference_function(state)),
                           platforms=tuple(platforms) if platforms else None)(
                               spec)


def export_fold(workdir: str, fold: int, *, config=None, out: str | None = None,
                platforms: Sequence[str] | None = None) -> str:
  """Exports ``<workdir>/fold<fold>``; returns the artifact's path."""
  fdir = rundir.fold_dir(workdir, fold)
  cfg = fold_config(fdir, config)
  state = load_fold_model(cfg, fdir)
  size = int(cfg.data.image_size)
  exported = export_state(state, size, platforms)
  path = out or rundir.export_path(fdir)
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  tmp = f'{path}.tmp{os.getpid()}'
  with open(tmp, 'wb') as f:
    f.write(exported.serialize())
  os.replace(tmp, path)
  files.write_json(dict(
      fold=state.fold, checkpoint_step=state.step, protocol=state.protocol,
      image_size=size, input=INPUT, outputs=dict(
          probabilities='[batch, 55] P(node = 1)',
          p_generated='[batch] P(generated) (real/generated head)',
          continuous_features='[batch, 27, D] features of the continuous '
                              'nodes (input of regression.npz)'),
      platforms=list(exported.platforms), jax=jax.__version__,
      load='lgpn_jax.evaluation.export.load(path)(images), or '
           'jax.export.deserialize(bytes).call(images)'), path + '.json')
  return path


def load(path: str) -> Callable:
  """The exported function of an artifact: ``images -> dict of arrays``."""
  if not os.path.isfile(path):
    raise FileNotFoundError(f'no exported model at {path} (export.py '
                            'writes one)')
  with open(path, 'rb') as f:
    exported = jax_export.deserialize(bytearray(f.read()))
  return exported.call
