"""Real photographs for synthetic RED: random crops of images bundled in an
installed package (scikit-image's ``skimage/data`` folder), never downloaded.

They are the ``real`` split of the synthetic set and the input photos of the
simulated image-to-image (encoder) generators.
"""

from __future__ import annotations

import functools
import importlib.util
import os

import numpy as np
from PIL import Image

# Files shipped inside the scikit-image wheel (skimage/data/), colour first.
PHOTOS = ('astronaut.png', 'coffee.png', 'chelsea.png', 'rocket.jpg',
          'hubble_deep_field.jpg', 'ihc.png', 'retina.jpg',
          'motorcycle_left.png', 'camera.png', 'moon.png', 'coins.png',
          'grass.png', 'gravel.png', 'brick.png')


class MissingPhotos(RuntimeError):
  pass


def _data_dir() -> str:
  spec = importlib.util.find_spec('skimage')
  if spec is None or not spec.submodule_search_locations:
    raise MissingPhotos('synthetic RED takes its real images from the photos '
                        'bundled with scikit-image: pip install scikit-image')
  return os.path.join(list(spec.submodule_search_locations)[0], 'data')


@functools.cache
def photos() -> tuple[tuple[str, Image.Image], ...]:
  """(name, RGB image) of every bundled photograph, in a fixed order."""
  root = _data_dir()
  out = []
  for name in PHOTOS:
    path = os.path.join(root, name)
    if not os.path.exists(path):
      raise MissingPhotos(f'{path} is missing: the installed scikit-image does '
                          'not bundle it (requirements.txt pins a range that '
                          'does)')
    with Image.open(path) as img:
      out.append((name.rsplit('.', 1)[0], img.convert('RGB')))
  return tuple(out)


def random_crop(rng: np.random.Generator, size: int) -> tuple[np.ndarray, str]:
  """One [size, size, 3] uint8 crop at a random scale, and its photo's name."""
  name, img = photos()[rng.integers(len(photos()))]
  w, h = img.size
  side = float(np.exp(rng.uniform(np.log(min(size, w, h)),
                                  np.log(min(w, h)))))
  x0 = rng.uniform(0, w - side)
  y0 = rng.uniform(0, h - side)
  crop = img.resize((size, size), Image.BICUBIC,
                    box=(x0, y0, x0 + side, y0 + side))
  arr = np.asarray(crop)
  if rng.integers(2):
    arr = arr[:, ::-1]
  return np.ascontiguousarray(arr), name
