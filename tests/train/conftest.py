"""Fixtures of the training tests: the held-out accuracy probe of a trained
fold (the shared batch / optimizer overrides are in tests/conftest.py)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lgpn_jax import checkpoint, rundir
from lgpn_jax.models.build import build_model
from lgpn_jax.models.lgpn import positive_probability
from lgpn_jax.red140 import folds, schema

GROUPS = {'upsampling': [51, 52], 'normalization': [37, 38, 39, 40]}


def heldout_images(gms, first: int, count: int, size: int, seed: int = 0):
  from input_pipeline import image_files
  from input_pipeline.synthetic import generator
  images, labels = [], []
  table = schema.label_table()
  index = schema.gm_index()
  for gm in gms:
    imgs = generator.generate(gm, range(first, first + count), size,
                                        seed)
    images.append(image_files.to_model_range(imgs.astype(np.float32)))
    labels.append(np.repeat(table[index[gm]][None], count, 0))
  return np.concatenate(images), np.concatenate(labels)


def probe(fold_dir: str, first: int, count: int = 2,
          batch: int = 64) -> dict[str, tuple[float, float]]:
  """{group: (model accuracy, majority-label accuracy)} per-node means."""
  config = rundir.load_fold_config(fold_dir)
  config.model.bn_axis_name = None
  variables, _ = checkpoint.restore_for_inference(fold_dir)
  adjacency = jnp.asarray(rundir.load_adjacency(fold_dir))
  model = build_model(config.model)
  gms = folds.get_fold(config.fold, config.data.protocol).train
  images, labels = heldout_images(gms, first, count, config.data.image_size,
                                  config.data.get('synthetic_seed', 0))
  fwd = jax.jit(lambda v, x: positive_probability(
      model.apply(v, x, adjacency, train=False)['node_logits']))
  probs = np.concatenate([np.asarray(fwd(variables, images[i:i + batch]))
                          for i in range(0, len(images), batch)])
  pred = probs > 0.5
  truth = labels > 0.5
  # Majority label of each node over the training GMs (each GM has the same
  # number of images in the build, so GMs weigh equally).
  majority = truth.mean(0) >= 0.5
  out = {}
  for name, nodes in GROUPS.items():
    model_acc = float((pred[:, nodes] == truth[:, nodes]).mean())
    base_acc = float((majority[None, nodes] == truth[:, nodes]).mean())
    out[name] = (model_acc, base_acc)
  return out


@pytest.fixture(scope='session')
def heldout_probe():
  """probe(fold_dir, first, count) -> {group: (model acc, majority acc)} on
  new images (indices from ``first``) of the fold's training GMs, straight
  from the synthetic generator (same seed: the same simulated GMs)."""
  return probe
