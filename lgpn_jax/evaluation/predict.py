"""Parse images with a trained fold: the library behind ``predict.py``.

``run(config, workdir, fold, image)`` reads each image (PIL, converted to
RGB), resizes it to ``config.data.image_size`` (bilinear) and scales it to
[-1, 1], and prints one table per image: each hyperparameter's predicted
value and probability (loss terms used or not, continuous bins, discrete
categories). Where ``regression.npz`` exists (evaluation writes it) each
continuous hyperparameter also shows its regressed raw value ("~123").
Returns 0 when every image was parsed, 1 when some could not be read.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

import jax
import numpy as np

from lgpn_jax import rundir
from lgpn_jax.evaluation import inference
from lgpn_jax.evaluation.fold_model import load_fold_model
from lgpn_jax.evaluation.parsing import regression
from lgpn_jax.red140 import schema

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg')


class ImageError(ValueError):
  """An image that cannot be read."""


def list_images(path: str) -> list[str]:
  """The image itself, or the sorted images of a folder."""
  if os.path.isdir(path):
    files = sorted(os.path.join(path, f) for f in os.listdir(path)
                   if f.lower().endswith(IMAGE_EXTENSIONS))
    if not files:
      raise FileNotFoundError(f'no {"/".join(IMAGE_EXTENSIONS)} image in '
                              f'folder {path}')
    return files
  if not os.path.exists(path):
    raise FileNotFoundError(f'no such image or folder: {path}')
  return [path]


def load_image(path: str, image_size: int) -> np.ndarray:
  """[S, S, 3] float32 in [-1, 1], as the input pipeline makes them."""
  from PIL import Image, UnidentifiedImageError

  from input_pipeline import image_files
  try:
    with Image.open(path) as img:
      img = img.convert('RGB')
      if img.size != (image_size, image_size):
        img = img.resize((image_size, image_size), Image.BILINEAR)
      x = np.asarray(img, np.float32)
  except (UnidentifiedImageError, OSError, ValueError) as e:
    raise ImageError(f'cannot read image {path}: {e}') from None
  return image_files.to_model_range(x)


def load_regression(fold_dir: str):
  path = rundir.regression_path(fold_dir)
  if not os.path.exists(path):
    return None
  head = regression.RegressionHead.load(path)
  return head if head.normaliser is not None else None


def run(config, workdir: str, fold: int, image: str, *, model_state=None,
        batch_size: int = 16, out: TextIO = sys.stdout,
        err: TextIO = sys.stderr) -> int:
  """Prints the report of every image; returns the exit status (see doc)."""
  files = list_images(image)
  fdir = rundir.fold_dir(workdir, fold)
  state = model_state or load_fold_model(config, fdir)
  head = load_regression(fdir)
  if head is None:
    print(f'note: no regression.npz in {fdir}; run eval.py for regressed '
          'continuous values (bins are shown)', file=err)
  predictor = inference.Predictor(state.model, state.variables, state.adjacency,
                                  devices=jax.local_devices()[:1])
  size = int(config.data.image_size)
  status = 0
  for start in range(0, len(files), batch_size):
    names, images = [], []
    for f in files[start:start + batch_size]:
      try:
        images.append(load_image(f, size))
        names.append(f)
      except ImageError as e:
        print(f'error: {e}', file=err)
        status = 1
    if not images:
      continue
    res = predictor(np.stack(images))
    raw = head.predict_raw(res['continuous_features']) if head else None
    for i, name in enumerate(names):
      regressed = (dict(zip(schema.CONTINUOUS_COLUMNS, raw[i].tolist()))
                   if raw is not None else None)
      preds = schema.decode(np.clip(res['probabilities'][i], 0, 1), regressed)
      print(f'== {name} (fold {fold} model)', file=out)
      print(schema.format_report(preds), file=out)
  return status
