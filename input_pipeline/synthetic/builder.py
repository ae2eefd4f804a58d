r"""TFDS builder of synthetic RED: 140 simulated GMs + real photo crops.

Same features and splits as RED140 (``features``, ``splits``), generated on the
spot with no download. One builder config per (image_size, images_per_gm,
num_real, seed), named e.g. ``s64_n32_r640_seed0``:

    python -m input_pipeline.build --dataset=synthetic --data_dir=DIR \
        --image_size=64 --images_per_gm=32

What is simulated and what is not: ``arch`` (architecture nodes ->
generator structure), ``losses`` (loss nodes -> documented output
statistics) and docs/DATA.md.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import os

import numpy as np
import threadpoolctl

from input_pipeline.tf_runtime import tfds
from input_pipeline import features, image_files, splits
from input_pipeline.synthetic import generator, photos
from input_pipeline.report import BuildReport
from input_pipeline.synthetic.arch import MAX_UP
from lgpn_jax.red140 import schema

REAL_STREAM = 1000   # seed stream of the real crops (GM streams are 0-139).
CHUNK = 16           # images generated per numpy batch.


@dataclasses.dataclass(eq=False)
class SyntheticConfig(tfds.core.BuilderConfig):
  image_size: int = 64
  images_per_gm: int = 32
  num_real: int = 640
  seed: int = 0

  @classmethod
  def make(cls, image_size: int = 64, images_per_gm: int = 32,
           num_real: int | None = None, seed: int = 0) -> 'SyntheticConfig':
    """A validated config; ``num_real`` defaults to 20 x images_per_gm."""
    num_real = 20 * images_per_gm if num_real is None else num_real
    if image_size < 2 ** MAX_UP or image_size % 2 ** MAX_UP:
      raise ValueError(f'image_size must be a positive multiple of '
                       f'{2 ** MAX_UP}, got {image_size}')
    if images_per_gm < 1 or num_real < 1:
      raise ValueError('images_per_gm and num_real must be >= 1, got '
                       f'{images_per_gm}, {num_real}')
    return cls(name=f's{image_size}_n{images_per_gm}_r{num_real}_seed{seed}',
               description=f'{image_size}x{image_size}, {images_per_gm} '
               f'images per GM, {num_real} real, seed {seed}',
               image_size=image_size, images_per_gm=images_per_gm,
               num_real=num_real, seed=seed)


def _gm_pngs(gm: str, cfg: SyntheticConfig) -> list[bytes]:
  out = []
  for start in range(0, cfg.images_per_gm, CHUNK):
    idx = range(start, min(start + CHUNK, cfg.images_per_gm))
    imgs = generator.generate(gm, idx, cfg.image_size, cfg.seed)
    out += [image_files.encode_png(im) for im in imgs]
  return out


def _real_png(i: int, cfg: SyntheticConfig) -> tuple[bytes, str]:
  rng = np.random.default_rng([cfg.seed, REAL_STREAM, i])
  crop, name = photos.random_crop(rng, cfg.image_size)
  return image_files.encode_png(crop), name


class Synthetic(tfds.core.GeneratorBasedBuilder):
  """Synthetic RED: simulated GM images with the labels of the 140 RED GMs."""

  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'First version.'}
  url_infos = None   # nothing is downloaded (see red140.Red140.url_infos).

  def __init__(self, *, num_workers: int | None = None, **kwargs):
    self._num_workers = num_workers or os.cpu_count() or 1
    self.report = BuildReport(dataset='synthetic')
    super().__init__(**kwargs)

  def _info(self) -> tfds.core.DatasetInfo:
    return tfds.core.DatasetInfo(
        builder=self,
        description=('Synthetic RED: random-weight numpy generators whose '
                     'architecture follows each RED140 GM\'s labels; loss '
                     'nodes simulated as output statistics; real images are '
                     'crops of photographs bundled with scikit-image.'),
        features=features.features(),
    )

  def identity(self, manual_dir: str | None = None) -> dict:
    """What defines this build's content (saved in its report): the
    generation options, which also name its config."""
    del manual_dir   # nothing is read from disk.
    cfg = self.builder_config
    return dict(dataset=self.name, config=cfg.name, version=str(self.version),
                image_size=cfg.image_size, images_per_gm=cfg.images_per_gm,
                num_real=cfg.num_real, seed=cfg.seed)

  def _split_generators(self, dl_manager):
    del dl_manager
    self.report = BuildReport(dataset=f'synthetic/{self.builder_config.name}',
                              identity=self.identity())
    by_split = collections.defaultdict(list)
    for gm in schema.gms():
      by_split[splits.split_of(gm.name)].append(gm.name)
    self._pending = set(by_split) | {splits.REAL}
    return {name: self._generate_examples(name, by_split[name])
            for name in splits.all_splits()
            if by_split[name] or name == splits.REAL}

  def _generate_examples(self, split: str, gms: list[str]):
    if split == splits.REAL:
      return self._generate_real()
    return self._generate_gms(split, gms)

  def _done(self, split: str, written: int) -> None:
    self.report.written[split] = written
    self._pending.discard(split)
    if not self._pending:
      self.report.save(os.fspath(self.data_dir))

  def _generate_gms(self, split: str, gms: list[str]):
    cfg = self.builder_config
    written = 0
    # One BLAS thread for the whole pass: threadpoolctl's limit is process-
    # wide, so per-call limits in worker threads would lift each other's
    # limits mid-computation (generator.generate sets it per call too).
    with threadpoolctl.threadpool_limits(1, 'blas'), \
        concurrent.futures.ThreadPoolExecutor(self._num_workers) as pool:
      for gm, pngs in zip(gms, pool.map(lambda g: _gm_pngs(g, cfg), gms)):
        for i, png in enumerate(pngs):
          key = f'{gm}/{i:05d}.png'
          written += 1
          yield key, features.example(png, gm, gm, key)
        self.report.per_gm[gm] += len(pngs)
    self._done(split, written)

  def _generate_real(self):
    cfg = self.builder_config
    chunk = 64
    with concurrent.futures.ThreadPoolExecutor(self._num_workers) as pool:
      for start in range(0, cfg.num_real, chunk):
        idx = range(start, min(start + chunk, cfg.num_real))
        for i, (png, name) in zip(idx, pool.map(lambda i: _real_png(i, cfg),
                                                idx)):
          key = f'real/{i:06d}.png'
          self.report.per_gm[f'real:skimage/{name}'] += 1
          yield key, features.example(png, None, f'skimage/{name}', key)
    self._done(splits.REAL, cfg.num_real)
