"""Held-out accuracy of a trained fold on new images of its training GMs.

Used by the learning test and handy by hand:
  python tests/train_probe.py FOLD_DIR [images_per_gm_offset] [count]
New images come straight from the synthetic generator (image indices past the
ones in the build, same seed: the same simulated GMs, unseen images).
"""

from __future__ import annotations

import sys

import jax
import jax.numpy as jnp
import numpy as np

from lgpn_jax import checkpoint, folds, losses, schema
from lgpn_jax.model import build_model

GROUPS = {'upsampling': [51, 52], 'normalization': [37, 38, 39, 40]}


def heldout_images(gms, first: int, count: int, size: int, seed: int = 0):
  from input_pipeline import synthetic_generator
  images, labels = [], []
  table = schema.label_table()
  index = schema.gm_index()
  for gm in gms:
    imgs = synthetic_generator.generate(gm, range(first, first + count), size,
                                        seed)
    images.append((imgs.astype(np.float32) / 255.0 - 0.5) / 0.5)
    labels.append(np.repeat(table[index[gm]][None], count, 0))
  return np.concatenate(images), np.concatenate(labels)


def probe(fold_dir: str, first: int, count: int = 2,
          batch: int = 64) -> dict[str, tuple[float, float]]:
  """{group: (model accuracy, majority-label accuracy)} per-node means."""
  config = checkpoint.load_fold_config(fold_dir)
  config.model.bn_axis_name = None
  variables, _ = checkpoint.restore_for_inference(fold_dir)
  adjacency = jnp.asarray(checkpoint.load_adjacency(fold_dir))
  model = build_model(config.model)
  gms = folds.get_fold(config.fold, config.data.protocol).train
  images, labels = heldout_images(gms, first, count, config.data.image_size,
                                  config.data.get('synthetic_seed', 0))
  fwd = jax.jit(lambda v, x: losses.positive_probability(
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


if __name__ == '__main__':
  first = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
  count = int(sys.argv[3]) if len(sys.argv) > 3 else 2
  for group, (acc, base) in probe(sys.argv[1], first, count).items():
    print(f'{group}: model {acc:.3f} majority {base:.3f}')
