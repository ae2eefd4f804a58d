"""Walking a RED140 manual directory: which folder is which GM or real source.

Layout (docs/DATA.md): ``<manual_dir>/<GM folder>/**`` for the generated images
of one GM, real images in top-level folders named for a known source
(``ImageNet``, ``MNIST``, ``CIFAR-10``, ``FFHQ``, ``CelebA-HQ``, ``LSUN_*``) or
under ``<manual_dir>/real/<source>/**``, and optionally extra real folders
given as ``real_dirs`` (each named for its source). Files are found
recursively and sorted, so a scan is deterministic.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Sequence

from input_pipeline.red140 import names
from input_pipeline.report import BuildReport
from lgpn_jax.red140 import schema
class ManualDirError(ValueError):
  """The manual directory cannot be built as asked (message says how to fix)."""


@dataclasses.dataclass(frozen=True)
class SourceFile:
  key: str        # unique, stable id: the path relative to its root.
  path: str       # absolute path.
  gm: str | None  # table GM name, None for real images.
  source: str     # folder name as found on disk (GM spelling or real source).


def list_files(root: str) -> list[str]:
  """Every regular file under ``root``, sorted, as absolute paths."""
  out = []
  for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
    dirnames.sort()
    for name in sorted(filenames):
      out.append(os.path.join(dirpath, name))
  return out


def _unknown_message(folder: str) -> str:
  close = names.closest_gms(folder)
  hint = f'closest known GM names: {", ".join(close)}' if close else (
      'no GM name is close')
  return (f'folder {folder!r} matches no GM and no real-image source; {hint}. '
          'Rename it, add a spelling to input_pipeline/red140/names.py ALIASES, list '
          'it in --real_dirs if it holds real images, or pass --allow_unknown '
          'to skip it (it will be listed in the build report).')


def scan(manual_dir: str, real_dirs: Sequence[str] = (),
         allow_unknown: bool = False,
         report: BuildReport | None = None) -> list[SourceFile]:
  """All candidate image files of a manual directory, GM names resolved.

  Raises ManualDirError for a missing directory, an unknown folder (unless
  ``allow_unknown``), two folders of the same GM, or no GM folder at all.
  """
  report = report if report is not None else BuildReport()
  if not os.path.isdir(manual_dir):
    raise ManualDirError(f'manual_dir {manual_dir!r} is not a directory')
  roots = []   # (folder name, path, gm or None)
  errors = []
  seen_gm = {}
  for entry in sorted(os.listdir(manual_dir)):
    path = os.path.join(manual_dir, entry)
    if not os.path.isdir(path):
      report.ignore(entry, 'top-level file (images must be in folders; '
                    'extract archives first)')
      continue
    if names.normalise(entry) == 'REAL':
      for sub in sorted(os.listdir(path)):
        if os.path.isdir(os.path.join(path, sub)):
          roots.append((f'{entry}/{sub}', os.path.join(path, sub), None))
        else:
          report.ignore(f'{entry}/{sub}', 'file directly under real/ '
                        '(use real/<source>/)')
      continue
    gm = names.match_gm(entry)
    if gm is not None:
      if gm in seen_gm:
        errors.append(f'folders {seen_gm[gm]!r} and {entry!r} both match GM '
                      f'{gm}; merge them or remove one')
      seen_gm[gm] = entry
      roots.append((entry, path, gm))
    elif names.is_real_source(entry):
      roots.append((entry, path, None))
    elif allow_unknown:
      report.ignore(entry + '/', 'unknown folder skipped (--allow_unknown): '
                    + ', '.join(names.closest_gms(entry)))
    else:
      errors.append(_unknown_message(entry))
  for extra in real_dirs:
    path = extra if os.path.isabs(extra) else os.path.join(manual_dir, extra)
    if not os.path.isdir(path):
      errors.append(f'real_dirs entry {extra!r} is not a directory')
      continue
    source = os.path.basename(os.path.normpath(path))
    roots = [r for r in roots if os.path.realpath(r[1]) != os.path.realpath(path)]
    roots.append((f'real_dirs/{source}', path, None))
  if errors:
    raise ManualDirError('cannot build RED140 from ' + manual_dir + ':\n  '
                         + '\n  '.join(errors))
  if not seen_gm:
    raise ManualDirError(f'no GM folder found in {manual_dir!r}; expected '
                         '<manual_dir>/<GM name>/<images> (see docs/DATA.md)')
  report.missing_gms = [g.name for g in schema.gms() if g.name not in seen_gm]
  out = []
  for folder, path, gm in sorted(roots):
    report.folders[folder] = gm or 'real'
    source = folder.rsplit('/', 1)[-1]
    for f in list_files(path):
      rel = os.path.relpath(f, path).replace(os.sep, '/')
      out.append(SourceFile(f'{folder}/{rel}', f, gm, source))
  return out
