r"""Parse one image (or every image of a folder): which GM hyperparameters made it?

  python predict.py --config=configs/default.py --workdir=runs/lgpn --fold=1 \
      --image=path/to/image.png
  python predict.py --config=configs/default.py --workdir=runs/lgpn --fold=1 \
      --image=path/to/folder      # every .png / .jpg / .jpeg in it, sorted

Loads the fold's checkpoint from ``<workdir>/fold{k}/``, reads each image
(PIL, converted to RGB), resizes it to ``config.data.image_size`` (bilinear)
and scales it to [-1, 1], and prints one table per image: each
hyperparameter's predicted value and probability (loss terms used or not,
continuous bins, discrete categories). Where ``regression.npz`` exists (eval.py
writes it) each continuous hyperparameter also shows its regressed raw value
("~123"). Exit status: 0 when every image was parsed, 1 when some could not be
read, 2 for a usage error or a missing checkpoint.
"""

from __future__ import annotations

import os
import sys
from typing import Sequence, TextIO

from absl import app
from absl import flags
from ml_collections import config_flags
import numpy as np

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
  try:
    with Image.open(path) as img:
      img = img.convert('RGB')
      if img.size != (image_size, image_size):
        img = img.resize((image_size, image_size), Image.BILINEAR)
      x = np.asarray(img, np.float32)
  except (UnidentifiedImageError, OSError, ValueError) as e:
    raise ImageError(f'cannot read image {path}: {e}') from None
  return (x / 255.0 - 0.5) / 0.5


def load_regression(fold_dir: str):
  from lgpn_jax import regression
  path = regression.path_for(fold_dir)
  if not os.path.exists(path):
    return None
  head = regression.RegressionHead.load(path)
  return head if head.normaliser is not None else None


def run(config, workdir: str, fold: int, image: str, *, model_state=None,
        batch_size: int = 16, out: TextIO = sys.stdout,
        err: TextIO = sys.stderr) -> int:
  """Prints the report of every image; returns the exit status (see doc)."""
  import jax
  from lgpn_jax import evaluate, inference, schema
  files = list_images(image)
  fdir = evaluate.fold_dir(workdir, fold)
  state = model_state or evaluate.load_fold_model(config, fdir)
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



def define_flags() -> dict:
  """The command-line flags. Defined only when run as a script, so importing
  this module beside other entry points (tests) defines no absl flag."""
  return dict(
      config=config_flags.DEFINE_config_file(
          'config', None, 'Config file (ml_collections), e.g. '
          'configs/default.py.', lock_config=True),
      workdir=flags.DEFINE_string(
          'workdir', None, 'Training work directory holding fold<k>/.'),
      fold=flags.DEFINE_integer(
          'fold', None, 'Fold whose model to use, 1-4 (default: config.fold).'),
      image=flags.DEFINE_string(
          'image', None, 'An image file or a folder of images '
          f'({", ".join(IMAGE_EXTENSIONS)}).'),
      batch_size=flags.DEFINE_integer(
          'batch_size', 16, 'Images per forward pass.'))


def main(argv: Sequence[str]):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  config = FLAGS['config'].value
  if config is None or not FLAGS['workdir'].value or not FLAGS['image'].value:
    raise app.UsageError('--config, --workdir and --image are required')
  fold = FLAGS['fold'].value
  fold = fold if fold is not None else int(config.fold)
  try:
    return run(config, FLAGS['workdir'].value, fold, FLAGS['image'].value,
               batch_size=FLAGS['batch_size'].value)
  except (FileNotFoundError, ValueError, RuntimeError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 2


FLAGS = {}

if __name__ == '__main__':
  FLAGS.update(define_flags())
  app.run(main)
