"""Building the data sets: ``ensure_built(name, data_dir, **options)``.

Rebuilding with the same inputs writes byte-identical shards (sorted inputs,
TFDS's deterministic key-hash shuffle, deterministic synthetic generation).
The command line is ``python -m input_pipeline.build``.
"""

from __future__ import annotations

import json
import os
import time

from input_pipeline.tf_runtime import tfds
from input_pipeline import DATASETS, report
from input_pipeline.red140 import manual_scan


class BuildError(RuntimeError):
  """A build that cannot run as asked; the message says what to do."""


def _synthetic_config(opts: dict):
  from input_pipeline.synthetic import builder as synthetic
  return synthetic.SyntheticConfig.make(**opts)


OPTIONS = {
    'synthetic': ('image_size', 'images_per_gm', 'num_real', 'seed',
                  'num_workers'),
    'red140': ('real_dirs', 'allow_unknown', 'num_workers'),
}


def builder(name: str, data_dir: str, **opts) -> tfds.core.DatasetBuilder:
  """The (possibly not yet prepared) builder of ``name`` with build options.

  synthetic: image_size, images_per_gm, num_real, seed, num_workers.
  red140: real_dirs, allow_unknown, num_workers.
  """
  if name not in OPTIONS:
    raise BuildError(f'unknown dataset {name!r}; choose one of {DATASETS}')
  bad = sorted(set(opts) - set(OPTIONS[name]))
  if bad:
    raise BuildError(f'unknown option(s) {bad} for {name}; known: '
                     f'{OPTIONS[name]}')
  if name == 'synthetic':
    workers = opts.pop('num_workers', None)
    from input_pipeline.synthetic import builder as synthetic
    return synthetic.Synthetic(data_dir=data_dir, num_workers=workers,
                               config=_synthetic_config(opts))
  if name == 'red140':
    from input_pipeline.red140 import builder as red140
    return red140.Red140(data_dir=data_dir, **opts)


def is_built(b: tfds.core.DatasetBuilder) -> bool:
  return os.path.exists(os.path.join(os.fspath(b.data_dir),
                                     'dataset_info.json'))


def ensure_built(name: str, data_dir: str, *, manual_dir: str | None = None,
                 num_shards: int | None = None, verbose: bool = True,
                 **opts) -> tfds.core.DatasetBuilder:
  """Returns the prepared builder of ``name``, building it first if needed.

  ``synthetic`` is generated (no download); ``red140`` needs ``manual_dir``
  the first time (BuildError with the instructions otherwise). ``num_shards``
  forces that many shard files per split (TFDS picks by size when None).
  """
  b = builder(name, data_dir, **opts)
  if is_built(b):
    return b
  if name == 'red140' and manual_dir is None:
    raise BuildError(f'RED140 is not built in {data_dir}; build it once with '
                     f'--manual_dir.\n{b.MANUAL_DOWNLOAD_INSTRUCTIONS}')
  if manual_dir is not None and not os.path.isdir(manual_dir):
    raise BuildError(f'manual_dir {manual_dir!r} is not a directory')
  config = tfds.download.DownloadConfig(
      manual_dir=manual_dir, try_download_gcs=False, num_shards=num_shards,
      download_mode=tfds.download.GenerateMode.REUSE_DATASET_IF_EXISTS)
  start = time.time()
  try:
    b.download_and_prepare(download_config=config)
  except manual_scan.ManualDirError as e:
    raise BuildError(str(e)) from None
  except Exception as e:  # TFDS may wrap our errors; unwrap the message.
    cause = e
    while cause is not None and not isinstance(cause,
                                                manual_scan.ManualDirError):
      cause = cause.__cause__ or cause.__context__
    if cause is not None:
      raise BuildError(str(cause)) from None
    raise
  if verbose:
    rep = load_report(b)
    print(report.summary(rep) if rep else f'built {b.name}', flush=True)
    print(f'built {b.name} in {time.time() - start:.1f} s at {b.data_dir}',
          flush=True)
  return b


def load_report(b: tfds.core.DatasetBuilder) -> dict | None:
  """The saved build report of a prepared builder (None if it has none)."""
  path = os.path.join(os.fspath(b.data_dir), 'build_report.json')
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)
