"""Every config trains every parameter it creates: on a tiny batch, each
parameter leaf gets a non-zero gradient from the config's own objective.

Each config keeps its structure (backbone, head, pooling levels, classifier,
edge gradient, loss terms and weights) at tiny widths and 32x32 images;
configs with the same tiny structure share one compiled gradient.
Intentional exceptions are listed in EXCEPTIONS with the reason.
"""

import functools
import glob
import importlib
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lgpn_jax import tasks
from lgpn_jax.losses.terms import combine
from lgpn_jax.red140 import folds, schema

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
NAMES = sorted(os.path.basename(p)[:-3]
               for p in glob.glob(os.path.join(REPO, 'configs', '*.py'))
               if not p.endswith('__init__.py'))
SIZE, BATCH = 32, 6
# Fold-1 training GMs for the generated images of the fake batch.
TRAIN_GMS = [schema.gm_index()[g] for g in folds.get_fold(1).train[:BATCH]]
TINY_MODEL = dict(dtype='float32', feature_dim=32, stem_width=8,
                  stage_sizes=(1, 1, 1, 1), widths=(4, 8, 8, 16),
                  pyramid_width=8, head_hidden=16, node_dim=8, init_from='')
# (config, parameter path substring) -> why it may get no gradient.
EXCEPTIONS: dict[tuple[str, str], str] = {}


def tiny(name):
  config = importlib.import_module(f'configs.{name}').get_config()
  with config.unlocked():
    config.model.update(TINY_MODEL)
    config.model.gcn_dropout = 0.0
    config.data.image_size = SIZE
    if 'low_freq_radius' in config.loss:     # FEN-PN's spectrum window.
      config.loss.low_freq_radius = min(config.loss.low_freq_radius,
                                        SIZE // 2 - 1)
  return config


def fake_batch(task_keys, num_classes=None):
  rng = np.random.default_rng(0)
  is_gen = np.array([1, 0, 1, 1, 0, 1], np.int32)
  batch = dict(
      image=rng.uniform(-1, 1, (BATCH, SIZE, SIZE, 3)).astype(np.float32),
      label=((rng.random((BATCH, 55)) < 0.4) * is_gen[:, None]).astype(
          np.float32),
      is_generated=is_gen,
      gm_index=np.where(is_gen == 1, TRAIN_GMS, -1).astype(np.int32),
      class_label=np.arange(BATCH) % (num_classes or 2))
  return {k: jnp.asarray(batch[k]) for k in task_keys}


@functools.lru_cache(maxsize=None)
def gradients(key):
  """Gradients of the task objective of a (tiny) config, by structure."""
  config = tiny_configs()[key]
  task = tasks.get(config)
  model = task.build_model(config.model)
  adjacency = jnp.asarray(task.adjacency())
  num_classes = getattr(task, 'spec', None)
  batch = fake_batch(task.batch_keys,
                     num_classes.num_classes if num_classes else None)
  variables = model.init(jax.random.key(0), batch['image'], adjacency,
                         train=False)

  def loss(params):
    out, _ = model.apply({'params': params,
                          'batch_stats': variables['batch_stats']},
                         batch['image'], adjacency, train=True,
                         mutable=['batch_stats'],
                         rngs={'dropout': jax.random.key(1)})
    terms = task.loss_terms(out, batch)
    total, _ = combine({k: jnp.sum(v) for k, (v, _) in terms.items()},
                       {k: jnp.sum(w) for k, (_, w) in terms.items()},
                       task.loss_weights)
    return total

  grads = jax.jit(jax.grad(loss))(variables['params'])
  return {jax.tree_util.keystr(p): float(np.abs(np.asarray(g)).max())
          for p, g in jax.tree_util.tree_leaves_with_path(grads)}


@functools.lru_cache(maxsize=None)
def tiny_configs():
  """{structure key: tiny config} over every config file."""
  out = {}
  for name in NAMES:
    c = tiny(name)
    out.setdefault(structure(c), c)
  return out


def structure(config) -> str:
  c = config.to_dict()
  return json.dumps(dict(model=c['model'], loss=c['loss'],
                         task=c.get('task'), task_data=c.get('task_data'),
                         skip=c['train'].get('skip_all_real_batches')),
                    sort_keys=True, default=str)


@pytest.mark.parametrize('name', NAMES)
def test_every_parameter_gets_a_gradient(name):
  grads = gradients(structure(tiny(name)))
  assert grads, name
  dead = [path for path, g in grads.items() if g == 0.0
          and not any(n == name and part in path for n, part in EXCEPTIONS)]
  assert not dead, f'{name}: no gradient for {dead}'


def test_exceptions_are_real():
  """Each listed exception does get no gradient (else drop it)."""
  for name, part in EXCEPTIONS:
    grads = gradients(structure(tiny(name)))
    hit = [g for path, g in grads.items() if part in path]
    assert hit and max(hit) == 0.0, (name, part, hit)
