"""Small data sets of PNG or JPEG images at 256, 512 or 1024 px for the
pipeline benchmark (``python -m input_pipeline.benchmark``).

Each is a TFDS build (features of ``features.py``, splits ``set0`` and
``real``) that ``pipeline.open_builder`` opens like any other, so the
benchmark runs the real training stream over it. Content, our choice: a
generated image is a mosaic of distinct 256 px images of the synthetic
generator (4 GMs of set 0), a real image a mosaic of 256 px crops of the
photographs of synthetic RED (a quarter of the images), so an image of any size has the pixel
statistics (and PNG compressibility, recorded as bytes per pixel) of
synthetic RED's 256 px images. JPEG: Pillow quality 90, 4:2:0 chroma.

``stored=256`` makes the same images resized once to 256 px by
``resize.encoded_at`` (what ``python -m input_pipeline.build --store_size``
stores: the read path's own resize, lossless PNG).

Builds are kept under ``work_dir`` by name (``png1024``, ``jpeg512_at256``,
...) and reused.
"""

from __future__ import annotations

import io
import os

import numpy as np
from PIL import Image

from input_pipeline.tf_runtime import tf, tfds
from input_pipeline import features, image_files, resize
from input_pipeline.synthetic import generator, photos
from lgpn_jax import files as files_lib
from lgpn_jax.red140 import schema

TILE = 256
NUM_GMS = 4
FORMATS = ('png', 'jpeg')
DATASET = 'pipeline_bench'
JPEG_QUALITY = 90


def _tiles(work_dir: str, seed: int, count: int) -> tuple[list, np.ndarray]:
  """[(GM, [count, 256, 256, 3])] of ``NUM_GMS`` GMs of set 0 and [count,
  256, 256, 3] photo crops; made once, kept in ``work_dir``."""
  path = os.path.join(work_dir, f'tiles_seed{seed}_n{count}.npz')
  gms = [g.name for g in schema.gms() if g.test_set == 0][:NUM_GMS]
  if not os.path.exists(path):
    gen = [generator.generate(g, range(count), TILE, seed) for g in gms]
    real = np.stack([photos.random_crop(np.random.default_rng([seed, i]),
                                        TILE)[0] for i in range(count)])
    files_lib.save_npz(path, gen=np.stack(gen), real=real)
  with np.load(path) as z:
    return list(zip(gms, z['gen'])), z['real']


def _mosaic(tiles: np.ndarray, size: int, i: int, rng: np.random.Generator):
  """Image i: tile i, or a size x size mosaic of distinct tiles."""
  k = size // TILE
  if k == 1:
    return tiles[i % len(tiles)]
  pick = rng.permutation(len(tiles))[:k * k]
  rows = [np.concatenate(list(tiles[pick[r * k:(r + 1) * k]]), axis=1)
          for r in range(k)]
  return np.concatenate(rows, axis=0)


def _encode(rgb: np.ndarray, fmt: str) -> bytes:
  if fmt == 'png':
    return image_files.encode_png(rgb)
  buf = io.BytesIO()
  Image.fromarray(rgb, 'RGB').save(buf, format='JPEG', quality=JPEG_QUALITY,
                                   subsampling='4:2:0')
  return buf.getvalue()


def _stored(rgb: np.ndarray, fmt: str, size: int) -> bytes:
  """The image as a build stored at ``size`` holds it (``resize``)."""
  if fmt == 'jpeg':
    return resize.encoded_at(_encode(rgb, fmt), size)
  return resize.encoded_at(tf.io.encode_png(rgb, compression=0).numpy(),
                           size)     # a lossless original: fast will do.


def name_of(fmt: str, size: int, stored: int | None = None) -> str:
  return f'{fmt}{size}' + (f'_at{stored}' if stored else '')


def ensure(work_dir: str, fmt: str, size: int, stored: int | None = None, *,
           images: int = 64, seed: int = 0) -> str:
  """The version directory of the source build (made on first use)."""
  if fmt not in FORMATS or size % TILE:
    raise ValueError(f'format must be one of {FORMATS} and size a multiple '
                     f'of {TILE}, got {fmt!r}, {size}')
  out = os.path.join(work_dir, f'{name_of(fmt, size, stored)}_n{images}',
                     DATASET, '1.0.0')
  if os.path.exists(os.path.join(out, 'dataset_info.json')):
    return out
  os.makedirs(out, exist_ok=True)
  num_real = max(1, images // 4)
  per_gm = -(-(images - num_real) // NUM_GMS)
  gen, real = _tiles(work_dir, seed,
                     max((size // TILE) ** 2, per_gm, num_real))
  rng = np.random.default_rng(seed)
  examples = {'set0': [(gm, f'{gm}/{i}', _mosaic(tiles, size, i, rng))
                       for gm, tiles in gen for i in range(per_gm)],
              'real': [(None, f'real/{i}', _mosaic(real, size, i, rng))
                       for i in range(num_real)]}
  feats = features.features()
  infos = []
  for split, rows in examples.items():
    path = os.path.join(out, f'{DATASET}-{split}.tfrecord-00000-of-00001')
    with tf.io.TFRecordWriter(path) as w:
      for gm, key, rgb in rows:
        data = _stored(rgb, fmt, stored) if stored else _encode(rgb, fmt)
        w.write(feats.serialize_example(features.example(
            data, gm, gm or 'photos', key)))
    infos.append(tfds.core.SplitInfo(name=split, shard_lengths=[len(rows)],
                                     num_bytes=os.path.getsize(path)))
  tfds.folder_dataset.write_metadata(data_dir=out, features=feats,
                                     split_infos=infos, check_data=False)
  return out
