"""Building the data sets: ``ensure_built(name, data_dir, **options)``.

Rebuilding with the same inputs writes the same examples in the same order
(sorted inputs, TFDS's deterministic key-hash shuffle, deterministic
synthetic generation).
The command line is ``python -m input_pipeline.build``.

A build is never reused for other inputs. Its report records its identity
(``identity(builder)``: data set, config, version, every option that changes
its content and, for RED140, the resolved manual folder). Options in
``CONFIG`` select their own config folder, so such builds live side by side
(synthetic: all its options; RED140: ``store_size``); for the others
(``CHECKED``: RED140's ``real_dirs``, ``allow_unknown``, ``max_file_mb``, and
its ``manual_dir``) and for ``num_shards``, a call that asks for a value other
than the built one stops with a ``BuildError`` naming each field and both
values. Our choice: refuse
rather than rebuild into a new folder, because a RED140 build takes hours and
a silent second copy would surprise as much as a silent reuse. A call that
names none of them (training opening the data set) reuses the build as it is.
"""

from __future__ import annotations

import glob
import json
import os
import time

from input_pipeline.tf_runtime import tfds
from input_pipeline import DATASETS, report
from input_pipeline.red140 import manual_scan


class BuildError(RuntimeError):
  """A build that cannot run as asked; the message says what to do."""


# Options that change what a build holds, per data set: those that select
# its config folder, and those checked against its saved identity.
CONFIG = {'synthetic': ('image_size', 'images_per_gm', 'num_real', 'seed'),
          'red140': ('store_size',)}
CHECKED = {'synthetic': (),
           'red140': ('real_dirs', 'allow_unknown', 'max_file_mb')}
OPTIONS = {name: CONFIG[name] + CHECKED[name] + ('num_workers',)
           for name in CONFIG}


def builder(name: str, data_dir: str, **opts) -> tfds.core.DatasetBuilder:
  """The (possibly not yet prepared) builder of ``name`` with build options
  (``OPTIONS[name]``; a value of None means the builder's default)."""
  if name not in OPTIONS:
    raise BuildError(f'unknown dataset {name!r}; choose one of {DATASETS}')
  bad = sorted(set(opts) - set(OPTIONS[name]))
  if bad:
    raise BuildError(f'unknown option(s) {bad} for {name}; known: '
                     f'{OPTIONS[name]}')
  opts = {k: v for k, v in opts.items() if v is not None}
  workers = opts.pop('num_workers', None)
  if name == 'synthetic':
    from input_pipeline.synthetic import builder as synthetic
    return synthetic.Synthetic(data_dir=data_dir, num_workers=workers,
                               config=synthetic.SyntheticConfig.make(**opts))
  from input_pipeline.red140 import builder as red140
  config = red140.Red140Config.make(opts.pop('store_size', None))
  return red140.Red140(data_dir=data_dir, config=config, num_workers=workers,
                       **opts)


def is_built(b: tfds.core.DatasetBuilder) -> bool:
  return os.path.exists(os.path.join(os.fspath(b.data_dir),
                                     'dataset_info.json'))


def identity(b: tfds.core.DatasetBuilder) -> dict:
  """The saved identity of a prepared build ({} if it has no report)."""
  rep = load_report(b)
  return rep.get('identity', {}) if rep else {}


def _differences(b, asked: dict, num_shards: int | None) -> list[str]:
  have = identity(b)
  out = [f'{k}: built with {have.get(k, "(not recorded)")!r}, asked {v!r}'
         for k, v in asked.items() if have.get(k) != v]
  if num_shards is not None:
    shards = sorted({len(s.shard_lengths) for s in b.info.splits.values()})
    if shards != [num_shards]:
      out.append(f'num_shards: built with {shards} shard files per split, '
                 f'asked {num_shards}')
  return out


def _not_built(b, data_dir: str | None) -> BuildError:
  root = os.path.dirname(os.path.dirname(os.fspath(b.data_dir)))
  others = sorted(os.path.relpath(os.path.dirname(p), root) for depth in (1, 2)
                  for p in glob.glob(os.path.join(
                      root, *['*'] * depth, 'dataset_info.json')))
  found = (f' (built there: {", ".join(others)}; the store size selects '
           f'the build, version {b.version} reads no other)') if others else ''
  return BuildError(
      f'RED140 {b.builder_config.name} ({b.builder_config.description}) is '
      f'not built in {data_dir or "the default TFDS data directory"}{found}; '
      f'build it once with --manual_dir.\n{b.MANUAL_DOWNLOAD_INSTRUCTIONS}')


def ensure_built(name: str, data_dir: str, *, manual_dir: str | None = None,
                 num_shards: int | None = None, verbose: bool = True,
                 **opts) -> tfds.core.DatasetBuilder:
  """Returns the prepared builder of ``name``, building it first if needed.

  ``synthetic`` is generated (no download); ``red140`` needs ``manual_dir``
  the first time (BuildError with the instructions otherwise). ``num_shards``
  forces that many shard files per split (TFDS picks by size when None).
  An existing build is reused only when every option given here (not None)
  and ``manual_dir`` match its identity; otherwise BuildError (module doc).
  """
  b = builder(name, data_dir, **opts)
  if manual_dir is not None:
    if name != 'red140':
      raise BuildError(f'manual_dir is for red140; {name} reads no files')
    if not os.path.isdir(manual_dir):
      raise BuildError(f'manual_dir {manual_dir!r} is not a directory')
  if is_built(b):
    given = [k for k in CHECKED[name] if opts.get(k) is not None]
    if manual_dir is not None:
      given.append('manual_dir')
    full = b.identity(manual_dir)
    diff = _differences(b, {k: full[k] for k in given}, num_shards)
    if diff:
      raise BuildError(
          f'{b.name}/{b.builder_config.name} in {b.data_dir} was built from '
          f'other inputs: {"; ".join(diff)}. A build is never reused for other '
          'inputs: use another data_dir, or delete that folder to rebuild; '
          'to open the existing build as it is, give no manual_dir and none '
          'of these options.')
    if verbose:
      print(f'{b.name}/{b.builder_config.name} is already built at '
            f'{b.data_dir} from these inputs; using it (delete the folder to '
            'rebuild)', flush=True)
    return b
  if manual_dir is None and name == 'red140':
    raise _not_built(b, data_dir)
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
