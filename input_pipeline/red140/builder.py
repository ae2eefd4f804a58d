r"""TFDS builder of RED140 from a manually downloaded directory.

    python -m input_pipeline.build --dataset=red140 \
        --manual_dir=/path/to/RED140 --data_dir=/path/to/tensorflow_datasets

See ``MANUAL_DOWNLOAD_INSTRUCTIONS`` and docs/DATA.md for the layout, and
``input_pipeline.splits`` for the splits.

One builder config per store size: ``s256`` (the default: every image resized
once, at build, to the model's 256 x 256 by ``resize.encoded_at``, the read
path's own resize, so training reads the same pixels and skips the resize) or
``native`` (``store_size=0``: images as found, resized at read time). Both can
live in one data directory (``red140/s256/1.1.0``, ``red140/native/1.1.0``).
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import os
from typing import Sequence


from input_pipeline.tf_runtime import tfds
from input_pipeline import MAX_FILE_MB, STORE_SIZE
from input_pipeline import features, image_files, resize, splits
from input_pipeline.red140 import manual_scan
from input_pipeline.report import BuildReport


MANUAL_DOWNLOAD_INSTRUCTIONS = """\
RED140 (the model-parsing data set of LGPN, Guo et al., NeurIPS 2024) is
distributed by its authors, not downloadable here. Put it in one directory:

  <manual_dir>/<GM folder>/...images...    one folder per generative model;
      names match the 140 GMs of lgpn_jax/red140/gm_labels.csv case-
      insensitively, ignoring spaces/dashes/underscores/dots ('PixelCNN++',
      'Fast pixel', 'STA_DM_15' are understood; see input_pipeline/red140/names.py)
  <manual_dir>/<real source>/...images...  real images, in folders named
      exactly for their source: ImageNet, MNIST, CIFAR-10, FFHQ, CelebA-HQ,
      LSUN_<category> (the full list: REAL_SOURCES in
      input_pipeline/red140/names.py); or real/<source>/...; or pass
      --real_dirs=DIR,DIR for folders named otherwise

Images may be nested in sub-folders, PNG or JPEG (or any format Pillow reads),
any size and mode. Symbolic links are not followed (copy the files instead).
Unreadable files are skipped and listed in build_report.json; an unknown
folder stops the build (or is skipped and listed with --allow_unknown). Then
run:

  python -m input_pipeline.build --dataset=red140 --manual_dir=<manual_dir> \\
      --data_dir=<data_dir> [--store_size=256]
"""


@dataclasses.dataclass(eq=False)
class Red140Config(tfds.core.BuilderConfig):
  store_size: int = STORE_SIZE   # 0: native sizes.

  @classmethod
  def of_size(cls, size: int) -> 'Red140Config':
    if not size:
      return cls(name='native', store_size=0,
                 description='images at their native sizes')
    return cls(name=f's{size}', store_size=size,
               description=f'images resized to {size}x{size} at build')

  @classmethod
  def make(cls, store_size: int | None = None) -> 'Red140Config':
    """The config of a store size (None: the default; 0: native)."""
    size = STORE_SIZE if store_size is None else int(store_size)
    if size < 0:
      raise ValueError(f'store_size must be >= 0 (0: native), got {size}')
    for config in Red140.BUILDER_CONFIGS:   # the declared object: TFDS
      if config.store_size == size:         # warns about any other.
        return config
    return cls.of_size(size)


def _load(path: str, max_bytes: int,
          store_size: int) -> tuple[image_files.ImageBytes, str] | str:
  """(the file's image bytes, 'HxW' if resized else ''), or the reason it is
  unreadable."""
  try:
    img = image_files.load(image_files.read_file(path, max_bytes))
  except image_files.UnreadableImage as e:
    return str(e)
  if not store_size or (img.height, img.width) == (store_size, store_size):
    return img, ''
  data = resize.encoded_at(img.data, store_size)
  return (dataclasses.replace(img, data=data, height=store_size,
                              width=store_size), f'{img.height}x{img.width}')


class Red140(tfds.core.GeneratorBasedBuilder):
  """RED140: images of 140 generative models + real images, with GM labels."""

  VERSION = tfds.core.Version('1.1.0')
  RELEASE_NOTES = {
      '1.0.0': 'Per-test-set splits; raw continuous values.',
      '1.1.0': ('One config per store size (s256 default, native); links not '
                'followed; only regular files; real folders by explicit name; '
                '16-bit values keep their high byte.'),
  }
  MANUAL_DOWNLOAD_INSTRUCTIONS = MANUAL_DOWNLOAD_INSTRUCTIONS
  BUILDER_CONFIGS = [Red140Config.of_size(STORE_SIZE),
                     Red140Config.of_size(0)]
  # Nothing is downloaded, so there are no URL checksums to look up (TFDS's
  # lookup imports `importlib_resources`, which this project does not need).
  url_infos = None

  def __init__(self, *, real_dirs: Sequence[str] = (),
               allow_unknown: bool = False,
               max_file_mb: int = MAX_FILE_MB,
               num_workers: int | None = None, **kwargs):
    if max_file_mb <= 0:
      raise ValueError(f'max_file_mb must be > 0, got {max_file_mb}')
    self._real_dirs = tuple(real_dirs)
    self._allow_unknown = allow_unknown
    self._max_file_mb = max_file_mb
    self._num_workers = num_workers or os.cpu_count() or 1
    self.report = BuildReport(dataset='red140')
    super().__init__(**kwargs)

  def identity(self, manual_dir: str | None) -> dict:
    """What defines this build's content (saved in its report)."""
    return dict(dataset=self.name, config=self.builder_config.name,
                version=str(self.version),
                manual_dir=manual_dir and os.path.realpath(manual_dir),
                store_size=self.builder_config.store_size,
                real_dirs=manual_scan.real_paths(manual_dir, self._real_dirs),
                allow_unknown=self._allow_unknown,
                max_file_mb=self._max_file_mb)

  def _info(self) -> tfds.core.DatasetInfo:
    return tfds.core.DatasetInfo(
        builder=self,
        description=('Images made by 140 generative models (RED140) and real '
                     'images, labelled with the 55 hyperparameter nodes of '
                     'their GM. Splits: one per test set (input_pipeline.'
                     'splits).'),
        features=features.features(),
        homepage='https://github.com/CHELSEA234/Model_Parsing',
        citation=('Guo, Asnani, Liu, Liu. Tracing Hyperparameter Dependencies '
                  'for Model Parsing via Learnable Graph Pooling Network. '
                  'NeurIPS 2024.'),
    )

  def _split_generators(self, dl_manager):
    manual_dir = os.fspath(dl_manager.manual_dir)
    self.report = BuildReport(dataset=f'red140/{self.builder_config.name}',
                              identity=self.identity(manual_dir))
    files = manual_scan.scan(manual_dir, self._real_dirs, self._allow_unknown,
                             self.report)
    by_split = collections.defaultdict(list)
    for f in files:
      by_split[splits.split_of(f.gm)].append(f)
    self._pending = set(by_split)
    return {name: self._generate_examples(name, by_split[name])
            for name in splits.all_splits() if by_split[name]}

  def _generate_examples(self, split: str, files):
    written = 0
    chunk = 8 * self._num_workers
    max_bytes = int(self._max_file_mb * 2 ** 20)
    size = self.builder_config.store_size

    def load(f):
      return _load(f.path, max_bytes, size)

    with concurrent.futures.ThreadPoolExecutor(self._num_workers) as pool:
      for start in range(0, len(files), chunk):
        part = files[start:start + chunk]
        for f, loaded in zip(part, pool.map(load, part)):
          if isinstance(loaded, str):
            self.report.skip(f.key, loaded)
            continue
          img, resized_from = loaded
          if img.conversion:
            self.report.converted[img.conversion] += 1
          if resized_from:
            self.report.resized[resized_from] += 1
          written += 1
          self.report.per_gm[f.gm or f'real:{f.source}'] += 1
          self.report.per_folder[f.folder] += 1
          yield f.key, features.example(img.data, f.gm, f.source, f.key)
    self.report.written[split] = written
    self._pending.discard(split)
    if not self._pending:
      self.report.save(os.fspath(self.data_dir))
    if not written:
      raise manual_scan.ManualDirError(
          f'split {split}: all {len(files)} files are unreadable (first: '
          f'{self.report.skipped[-1]})')
