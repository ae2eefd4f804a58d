"""Walking a RED140 manual directory: which folder is which GM or real source.

Layout (docs/DATA.md): ``<manual_dir>/<GM folder>/**`` for the generated images
of one GM; real images in top-level folders named exactly for a known source
(``names.REAL_SOURCES``: ``ImageNet``, ``MNIST``, ``CIFAR-10``, ``FFHQ``,
``CelebA-HQ``, ``LSUN_bedroom``, ...), under ``<manual_dir>/real/<source>/**``,
or in folders given as ``real_dirs`` (each named for its source). Files are
found recursively and sorted, so a scan is deterministic.

What is read, exactly (our choices; docs/DATA.md):
  * symbolic links are never followed, files or folders, at any depth: a link
    can then neither loop (duplicating images) nor lead out of the folder.
    Each link found is listed as ignored. Following only the links that stay
    inside would also be exact, but needs every real path tracked and gains
    nothing a copy or a ``real_dirs`` entry does not give. The manual folder
    itself and the ``real_dirs`` folders, named by the user, are resolved.
  * only regular files are candidates; FIFOs, sockets and device files are
    listed as ignored (reading one blocks or never ends).
  * a name that is not UTF-8 (an old archive's Latin-1, say) is read under its
    real name and stored with the undecodable bytes spelled ``\\xNN`` (key,
    ``filename``, ``source``); such names are listed in the report. Keys are
    checked to be unique.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Sequence

from input_pipeline import image_files
from input_pipeline.red140 import names
from input_pipeline.report import BuildReport
from lgpn_jax.red140 import schema


class ManualDirError(ValueError):
  """The manual directory cannot be built as asked (message says how to fix)."""


@dataclasses.dataclass(frozen=True)
class SourceFile:
  key: str        # unique, stable id: '<folder>/<path in it>'.
  path: str       # absolute path (the name on disk, maybe not UTF-8).
  gm: str | None  # table GM name, None for real images.
  source: str     # folder name as found on disk (GM spelling or real source).
  folder: str     # the top-level folder it was found in (report key).


def display(name: str) -> str:
  """A name from the disk as text: bytes that are not UTF-8 spelled \\xNN."""
  return os.fsencode(name).decode('utf-8', 'backslashreplace')


def _kind(path: str) -> str:
  """'' for a regular file, else what it is (links are not followed)."""
  try:
    return image_files.file_kind(os.lstat(path).st_mode)
  except OSError as e:
    return f'cannot stat ({e.strerror or e})'


def _not_read(kind: str) -> str:
  if kind == 'symbolic link':
    return 'symbolic link, not followed (docs/DATA.md)'
  return f'{kind}, not read'


def list_files(root: str, label: str,
               report: BuildReport) -> list[tuple[str, str]]:
  """(key, path) of every regular file under ``root``, sorted; keys start
  with ``label``. Links and special files are listed in ``report.ignored``."""
  out = []
  try:
    entries = sorted(os.listdir(root))
  except OSError as e:
    report.ignore(label + '/', f'cannot list ({e.strerror or e})')
    return out
  for name in entries:
    path, key = os.path.join(root, name), f'{label}/{display(name)}'
    if key != f'{label}/{name}':
      report.escaped.append(key)
    kind = _kind(path)
    if kind == 'directory':
      out += list_files(path, key, report)
    elif kind:
      report.ignore(key, _not_read(kind))
    else:
      out.append((key, path))
  return out


def real_paths(manual_dir: str | None, real_dirs: Sequence[str]) -> list[str]:
  """``real_dirs`` as resolved paths (relative ones: to ``manual_dir``)."""
  return [os.path.realpath(d if os.path.isabs(d) or manual_dir is None
                           else os.path.join(manual_dir, d))
          for d in real_dirs]


def _unknown_message(folder: str) -> str:
  close = names.closest_gms(folder)
  hint = f'closest known GM names: {", ".join(close)}' if close else (
      'no GM name is close')
  return (f'folder {folder!r} matches no GM and no real-image source; {hint}. '
          'Rename it, add a spelling to input_pipeline/red140/names.py ALIASES, list '
          'it in --real_dirs if it holds real images, or pass --allow_unknown '
          'to skip it (it will be listed in the build report).')


def _roots(manual_dir: str, real: list[str], allow_unknown: bool,
           report: BuildReport, errors: list[str]) -> list[tuple]:
  """(label, path, gm or None) of every top-level source folder."""
  roots, seen_gm = [], {}
  for entry in sorted(os.listdir(manual_dir)):
    path, shown = os.path.join(manual_dir, entry), display(entry)
    if shown != entry:
      report.escaped.append(shown + '/')
    kind = _kind(path)
    if kind != 'directory':
      report.ignore(shown, 'top-level file (images must be in folders; '
                    'extract archives first)' if not kind else _not_read(kind))
      continue
    if os.path.realpath(path) in real:
      continue                       # taken as one of real_dirs below.
    if names.normalise(entry) == 'REAL':
      for sub in sorted(os.listdir(path)):
        label, sub_kind = f'{shown}/{display(sub)}', _kind(os.path.join(path,
                                                                        sub))
        if sub_kind == 'directory':
          roots.append((label, os.path.join(path, sub), None))
        else:
          report.ignore(label, 'file directly under real/ (use '
                        'real/<source>/)' if not sub_kind else
                        _not_read(sub_kind))
      continue
    gm = names.match_gm(entry)
    if gm is not None:
      if gm in seen_gm:
        errors.append(f'folders {seen_gm[gm]!r} and {shown!r} both match GM '
                      f'{gm}; merge them or remove one')
      seen_gm[gm] = shown
      roots.append((shown, path, gm))
    elif names.is_real_source(entry):
      roots.append((shown, path, None))
    elif allow_unknown:
      report.ignore(shown + '/', 'unknown folder skipped (--allow_unknown): '
                    + ', '.join(names.closest_gms(entry)))
    else:
      errors.append(_unknown_message(shown))
  report.missing_gms = [g.name for g in schema.gms() if g.name not in seen_gm]
  return roots


def scan(manual_dir: str, real_dirs: Sequence[str] = (),
         allow_unknown: bool = False,
         report: BuildReport | None = None) -> list[SourceFile]:
  """All candidate image files of a manual directory, GM names resolved.

  Raises ManualDirError for a missing directory, an unknown folder (unless
  ``allow_unknown``), two folders of the same GM or of the same key, or no GM
  folder at all.
  """
  report = report if report is not None else BuildReport()
  if not os.path.isdir(manual_dir):
    raise ManualDirError(f'manual_dir {manual_dir!r} is not a directory')
  manual_dir = os.path.realpath(manual_dir)
  real = real_paths(manual_dir, real_dirs)
  errors = []
  roots = _roots(manual_dir, real, allow_unknown, report, errors)
  for given, path in zip(real_dirs, real):
    name = display(os.path.basename(os.path.normpath(given)))
    label = f'real_dirs/{name}'
    if not os.path.isdir(path):
      errors.append(f'real_dirs entry {given!r} is not a directory')
    elif any(label == r[0] for r in roots):
      errors.append(f'two real_dirs entries are named {name!r}; rename one '
                    '(the name is its source)')
    else:
      roots.append((label, path, None))
  if errors:
    raise ManualDirError('cannot build RED140 from ' + manual_dir + ':\n  '
                         + '\n  '.join(errors))
  if not any(gm for _, _, gm in roots):
    raise ManualDirError(f'no GM folder found in {manual_dir!r}; expected '
                         '<manual_dir>/<GM name>/<images> (see docs/DATA.md)')
  out, keys = [], {}
  for label, path, gm in sorted(roots):
    report.folders[label] = gm or 'real'
    source = label.rsplit('/', 1)[-1]
    found = list_files(path, label, report)
    report.found[label] = len(found)
    for key, file_path in found:
      if key in keys:
        raise ManualDirError(f'two files have the key {key!r} ({keys[key]!r} '
                             f'and {file_path!r}); rename one')
      keys[key] = file_path
      out.append(SourceFile(key, file_path, gm, source, label))
  return out
