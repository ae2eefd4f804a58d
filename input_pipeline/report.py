"""The build report: what a build is, and what it skipped, ignored or changed.

Nothing is dropped silently: every file a build does not write is listed here
with its reason, every folder that gave no image is named, and the report is
saved beside the shards (``build_report.json``) and printed as a summary,
together with the folder -> GM / real mapping. ``identity`` records the
options that define the build's content (``builders.ensure_built`` refuses to
reuse a build for other ones).
"""

from __future__ import annotations

import collections
import dataclasses
import os
import textwrap

from lgpn_jax import files


def _counter():
  return dataclasses.field(default_factory=collections.Counter)


@dataclasses.dataclass
class BuildReport:
  dataset: str = ''
  identity: dict = dataclasses.field(default_factory=dict)
  written: collections.Counter = _counter()     # split -> examples.
  per_gm: collections.Counter = _counter()      # GM or real source -> n.
  converted: collections.Counter = _counter()   # conversion -> n.
  resized: collections.Counter = _counter()     # 'HxW' stored resized -> n.
  found: collections.Counter = _counter()       # folder -> regular files.
  per_folder: collections.Counter = _counter()  # folder -> examples written.
  skipped: list = dataclasses.field(default_factory=list)   # [path, reason].
  ignored: list = dataclasses.field(default_factory=list)   # [path, reason].
  escaped: list = dataclasses.field(default_factory=list)   # non-UTF-8 names.
  folders: dict = dataclasses.field(default_factory=dict)   # folder -> target.
  missing_gms: list = dataclasses.field(default_factory=list)

  def skip(self, path: str, reason: str) -> None:
    self.skipped.append([path, reason])

  def ignore(self, path: str, reason: str) -> None:
    self.ignored.append([path, reason])

  def empty_folders(self) -> dict:
    """folder -> why it gave no example (no file / all files unreadable)."""
    out = {}
    for folder in sorted(self.folders):
      if not self.per_folder[folder]:
        n = self.found[folder]
        out[folder] = f'all {n} files unreadable' if n else 'no file to read'
    return out

  def to_json(self) -> dict:
    return {
        'dataset': self.dataset,
        'identity': dict(sorted(self.identity.items())),
        'written': dict(sorted(self.written.items())),
        'total_written': sum(self.written.values()),
        'per_gm': dict(sorted(self.per_gm.items())),
        'converted': dict(sorted(self.converted.items())),
        'resized': dict(sorted(self.resized.items())),
        'num_skipped': len(self.skipped),
        'skipped': sorted(self.skipped),
        'num_ignored': len(self.ignored),
        'ignored': sorted(self.ignored),
        'escaped_names': sorted(self.escaped),
        'folders': dict(sorted(self.folders.items())),
        'folder_counts': {f: {'found': self.found[f],
                              'written': self.per_folder[f]}
                          for f in sorted(self.folders)},
        'empty_folders': self.empty_folders(),
        'missing_gms': sorted(self.missing_gms),
    }

  def save(self, directory: str) -> str:
    path = os.path.join(directory, 'build_report.json')
    return files.write_json(self.to_json(), path)


def _wrapped(title: str, items: list[str]) -> list[str]:
  return [title] + textwrap.wrap(', '.join(items), 96, initial_indent='  ',
                                 subsequent_indent='  ', break_on_hyphens=False)


def mapping(report: dict) -> list[str]:
  """The folder -> GM / real lines: a folder spelled as its GM is named once."""
  gm = [f if t == f else f'{f} -> {t}' for f, t in report['folders'].items()
        if t != 'real']
  real = [f for f, t in report['folders'].items() if t == 'real']
  lines = _wrapped(f'GM folders ({len(gm)}), folder -> GM:', gm) if gm else []
  return lines + (_wrapped(f'real-image folders ({len(real)}):', real)
                  if real else [])


def summary(report: dict, limit: int = 20) -> str:
  """A human-readable summary of a saved report (``to_json`` dict)."""
  lines = [f'{report["dataset"]}: wrote {report["total_written"]} examples '
           f'in {len(report["written"])} splits: ' +
           ', '.join(f'{k}={v}' for k, v in report['written'].items())]
  lines += mapping(report)
  if report['converted']:
    lines.append('converted to 8-bit RGB PNG: ' + ', '.join(
        f'{k}: {v}' for k, v in report['converted'].items()))
  if report['resized']:
    size = report['identity'].get('store_size')
    lines.append(f'resized to {size}x{size} (stored as PNG), from HxW: '
                 + ', '.join(f'{k}: {v}' for k, v in report['resized'].items()))
  empty = report['empty_folders']
  if empty:
    lines.append(f'EMPTY folders, no example written ({len(empty)}):')
    lines += [f'  {f} ({report["folders"][f]}): {why}'
              for f, why in empty.items()]
  for key, title in (('skipped', 'SKIPPED unreadable files'),
                     ('ignored', 'IGNORED paths')):
    items = report[key]
    if items:
      lines.append(f'{title}: {len(items)}')
      lines += [f'  {p}: {why}' for p, why in items[:limit]]
      if len(items) > limit:
        lines.append(f'  ... {len(items) - limit} more in build_report.json')
  escaped = report['escaped_names']
  if escaped:
    more = [f'... {len(escaped) - limit} more'] if len(escaped) > limit else []
    lines += _wrapped(f'names not UTF-8, stored with \\x escapes '
                      f'({len(escaped)}):', escaped[:limit] + more)
  missing = report['missing_gms']
  if missing:
    more = f' ... {len(missing) - limit} more' if len(missing) > limit else ''
    lines.append(f'GMs with no folder ({len(missing)}): '
                 + ', '.join(missing[:limit]) + more)
  return '\n'.join(lines)
