r"""TFDS builder of RED140 from a manually downloaded directory.

    python -m input_pipeline.build --dataset=red140 \
        --manual_dir=/path/to/RED140 --data_dir=/path/to/tensorflow_datasets

See ``MANUAL_DOWNLOAD_INSTRUCTIONS`` and docs/DATA.md for the layout, and
``input_pipeline.splits`` for the splits.
"""

from __future__ import annotations

import collections
import concurrent.futures
import os
from typing import Sequence


from input_pipeline.tf_runtime import tfds
from input_pipeline import features, image_files, splits
from input_pipeline.red140 import manual_scan
from input_pipeline.report import BuildReport

MANUAL_DOWNLOAD_INSTRUCTIONS = """\
RED140 (the model-parsing data set of LGPN, Guo et al., NeurIPS 2024) is
distributed by its authors, not downloadable here. Put it in one directory:

  <manual_dir>/<GM folder>/...images...    one folder per generative model;
      names match the 140 GMs of lgpn_jax/red140/gm_labels.csv case-
      insensitively, ignoring spaces/dashes/underscores/dots ('PixelCNN++',
      'Fast pixel', 'STA_DM_15' are understood; see input_pipeline/red140/names.py)
  <manual_dir>/<real source>/...images...  real images: ImageNet, MNIST,
      CIFAR-10, FFHQ, CelebA-HQ, LSUN_<subset> (or real/<source>/..., or pass
      --real_dirs=DIR,DIR for folders named otherwise)

Images may be nested in sub-folders, PNG or JPEG (or any format Pillow reads),
any size and mode. Unreadable files are skipped and listed in
build_report.json; an unknown folder stops the build (or is skipped and listed
with --allow_unknown). Then run:

  python -m input_pipeline.build --dataset=red140 --manual_dir=<manual_dir> \\
      --data_dir=<data_dir>
"""


def _load(path: str) -> image_files.ImageBytes | str:
  """The file's image bytes, or the reason it is unreadable."""
  try:
    with open(path, 'rb') as f:
      data = f.read()
  except OSError as e:
    return f'cannot read: {e.strerror or e}'
  try:
    return image_files.load(data)
  except image_files.UnreadableImage as e:
    return str(e)


class Red140(tfds.core.GeneratorBasedBuilder):
  """RED140: images of 140 generative models + real images, with GM labels."""

  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'Per-test-set splits; raw continuous values.'}
  MANUAL_DOWNLOAD_INSTRUCTIONS = MANUAL_DOWNLOAD_INSTRUCTIONS
  # Nothing is downloaded, so there are no URL checksums to look up (TFDS's
  # lookup imports `importlib_resources`, which this project does not need).
  url_infos = None

  def __init__(self, *, real_dirs: Sequence[str] = (),
               allow_unknown: bool = False, num_workers: int | None = None,
               **kwargs):
    self._real_dirs = tuple(real_dirs)
    self._allow_unknown = allow_unknown
    self._num_workers = num_workers or os.cpu_count() or 1
    self.report = BuildReport(dataset='red140')
    super().__init__(**kwargs)

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
    self.report = BuildReport(dataset='red140')
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
    with concurrent.futures.ThreadPoolExecutor(self._num_workers) as pool:
      for start in range(0, len(files), chunk):
        part = files[start:start + chunk]
        for f, loaded in zip(part, pool.map(_load, [f.path for f in part])):
          if isinstance(loaded, str):
            self.report.skip(f.key, loaded)
            continue
          if loaded.conversion:
            self.report.converted[loaded.conversion] += 1
          written += 1
          self.report.per_gm[f.gm or f'real:{f.source}'] += 1
          yield f.key, features.example(loaded.data, f.gm, f.source, f.key)
    self.report.written[split] = written
    self._pending.discard(split)
    if not self._pending:
      self.report.save(os.fspath(self.data_dir))
    if not written:
      raise manual_scan.ManualDirError(
          f'split {split}: all {len(files)} files are unreadable (first: '
          f'{self.report.skipped[-1]})')
