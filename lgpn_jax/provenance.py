"""Where a result came from: the ``provenance`` block of every evaluation JSON.

``block(config, dataset)`` says, so that a number can be traced and redone:
  command           the command line (program, config file, overrides, flags)
                    as ``lgpn_jax.cli`` recorded it; None for a library call;
  config            the full config the result was computed with;
  dataset           what ``dataset_info(builder, options)`` gives: data set
                    name, build config, version, directory, build options,
                    examples per split, files skipped by the build;
  code              the package version and, in a git checkout, the commit
                    and whether tracked files had uncommitted changes;
  libraries         Python and the versions of the libraries that compute
                    or read the result (installed metadata, nothing imported);
  devices           JAX platform, device kind and count, process count;
  created           UTC time.
Imports nothing else of the project.
"""

from __future__ import annotations

import datetime
import functools
import os
import platform
import subprocess
import sys
from importlib import metadata
from typing import Mapping, Sequence

LIBRARIES = ('jax', 'jaxlib', 'flax', 'optax', 'orbax-checkpoint', 'numpy',
             'ml-collections', 'tensorflow', 'tensorflow-cpu',
             'tensorflow-datasets', 'pillow')
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_command: dict | None = None


def record_command(argv: Sequence[str]) -> None:
  """Remembers this process's command line (``lgpn_jax.cli.run`` calls it)."""
  global _command
  args = list(argv[1:])
  config_file, overrides, i = None, [], 0
  while i < len(args):
    a = args[i]
    if a == '--config' and i + 1 < len(args):
      config_file, i = args[i + 1], i + 1
    elif a.startswith('--config='):
      config_file = a.split('=', 1)[1]
    elif a.startswith('--config.'):
      overrides.append(a[2:])
    i += 1
  _command = dict(program=os.path.basename(argv[0]) if argv else None,
                  argv=args, config_file=config_file,
                  config_overrides=overrides)


def command() -> dict | None:
  return None if _command is None else dict(_command)


def _git(*args: str) -> str | None:
  try:
    out = subprocess.run(['git', '-C', _ROOT, *args], capture_output=True,
                         text=True, timeout=10)
  except (OSError, subprocess.SubprocessError):
    return None
  return out.stdout.strip() if out.returncode == 0 else None


@functools.lru_cache(maxsize=1)
def code_version() -> dict:
  """{'package', 'git_commit', 'git_dirty'} (git fields None outside git)."""
  try:
    package = metadata.version('lgpn-jax')
  except metadata.PackageNotFoundError:
    package = None
  commit = _git('rev-parse', 'HEAD')
  dirty = None
  if commit is not None:
    status = _git('status', '--porcelain', '--untracked-files=no')
    dirty = None if status is None else bool(status)
  return dict(package=package, git_commit=commit, git_dirty=dirty)


@functools.lru_cache(maxsize=1)
def library_versions() -> dict:
  out = {'python': platform.python_version()}
  for name in LIBRARIES:
    try:
      out[name] = metadata.version(name)
    except metadata.PackageNotFoundError:
      continue
  return out


def devices() -> dict:
  import jax
  devs = jax.devices()
  return dict(platform=devs[0].platform, kind=devs[0].device_kind,
              count=len(devs), process_count=jax.process_count())


def dataset_info(builder, options: Mapping | None = None,
                 build_report: Mapping | None = None) -> dict:
  """A prepared TFDS builder's identity (read off its attributes), its
  build options and, from its build report, how many files it skipped."""
  config = getattr(builder, 'builder_config', None)
  info = getattr(builder, 'info', None)
  splits = getattr(info, 'splits', None) or {}
  out = dict(name=getattr(builder, 'name', None),
             config=getattr(config, 'name', None),
             description=getattr(config, 'description', None),
             version=str(getattr(builder, 'version', '')) or None,
             data_dir=os.fspath(getattr(builder, 'data_dir', '')) or None,
             build_options=dict(options or {}),
             examples_per_split={k: int(v.num_examples)
                                 for k, v in splits.items()})
  if build_report is not None:
    out['skipped_files'] = build_report.get('num_skipped')
  return out


def block(config, dataset: Mapping | None = None) -> dict:
  """The provenance block (see the module doc); ``config`` a ConfigDict."""
  return dict(
      command=command(),
      config=config.to_dict() if hasattr(config, 'to_dict') else config,
      dataset=None if dataset is None else dict(dataset),
      code=code_version(), libraries=library_versions(), devices=devices(),
      created=datetime.datetime.now(datetime.timezone.utc).isoformat(
          timespec='seconds'),
      executable=sys.executable)
