r"""Building the data sets: ``ensure_built`` for code, ``python -m`` for people.

    python -m input_pipeline.build --dataset=synthetic --data_dir=DIR \
        [--image_size=64 --images_per_gm=32 --num_real=640 --seed=0]
    python -m input_pipeline.build --dataset=red140 --manual_dir=M --data_dir=DIR \
        [--real_dirs=A,B] [--allow_unknown]

Rebuilding with the same inputs writes byte-identical shards (sorted inputs,
TFDS's deterministic key-hash shuffle, deterministic synthetic generation).
"""

from __future__ import annotations

import tensorflow as tf

tf.config.set_visible_devices([], 'GPU')

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import tensorflow_datasets as tfds  # noqa: E402

from input_pipeline import manual_scan, report  # noqa: E402

DATASETS = ('synthetic', 'red140')


class BuildError(RuntimeError):
  """A build that cannot run as asked; the message says what to do."""


def _synthetic_config(opts: dict):
  from input_pipeline import synthetic
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
    from input_pipeline import synthetic
    return synthetic.Synthetic(data_dir=data_dir, num_workers=workers,
                               config=_synthetic_config(opts))
  if name == 'red140':
    from input_pipeline import red140
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


def _parser() -> argparse.ArgumentParser:
  p = argparse.ArgumentParser(
      prog='python -m input_pipeline.build', description=__doc__,
      formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument('--dataset', choices=DATASETS, required=True,
                 help='synthetic: generated on the spot; red140: from '
                 '--manual_dir')
  p.add_argument('--data_dir', required=True,
                 help='TFDS data directory the shards are written to')
  p.add_argument('--num_shards', type=int, default=None,
                 help='shard files per split (default: chosen by TFDS from '
                 'the split size); more shards spread better over hosts')
  g = p.add_argument_group('red140')
  g.add_argument('--manual_dir', help='the downloaded RED140 directory')
  g.add_argument('--real_dirs', default='',
                 help='comma-separated extra real-image folders (absolute or '
                 'relative to --manual_dir), each named for its source')
  g.add_argument('--allow_unknown', action='store_true',
                 help='skip (and report) folders that match no GM instead of '
                 'stopping')
  g.add_argument('--num_workers', type=int, default=None,
                 help='threads decoding images (default: CPU count)')
  g = p.add_argument_group('synthetic')
  g.add_argument('--image_size', type=int, default=64,
                 help='side of the generated square images (multiple of 16)')
  g.add_argument('--images_per_gm', type=int, default=32)
  g.add_argument('--num_real', type=int, default=None,
                 help='real images (crops of bundled photographs); default '
                 '20 x images_per_gm')
  g.add_argument('--seed', type=int, default=0)
  return p


def main(argv=None) -> int:
  args = _parser().parse_args(argv)
  if args.dataset == 'red140':
    if not args.manual_dir:
      print('error: --manual_dir is required for red140', file=sys.stderr)
      return 2
    opts = dict(real_dirs=[d for d in args.real_dirs.split(',') if d],
                allow_unknown=args.allow_unknown, num_workers=args.num_workers)
  else:
    opts = dict(image_size=args.image_size, images_per_gm=args.images_per_gm,
                num_real=args.num_real, seed=args.seed)
  try:
    ensure_built(args.dataset, args.data_dir, manual_dir=args.manual_dir,
                 num_shards=args.num_shards, **opts)
  except (BuildError, ValueError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  return 0


if __name__ == '__main__':
  sys.exit(main())
