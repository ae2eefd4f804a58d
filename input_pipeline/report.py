"""The build report: what a build skipped, ignored or converted, and why.

Nothing is dropped silently: every file a build does not write is listed here
with its reason, and the report is saved beside the shards
(``build_report.json``) and printed as a summary.
"""

from __future__ import annotations

import collections
import dataclasses
import os

from lgpn_jax import files


@dataclasses.dataclass
class BuildReport:
  dataset: str = ''
  written: collections.Counter = dataclasses.field(
      default_factory=collections.Counter)           # split -> examples.
  per_gm: collections.Counter = dataclasses.field(
      default_factory=collections.Counter)           # GM or real source -> n.
  converted: collections.Counter = dataclasses.field(
      default_factory=collections.Counter)           # conversion -> n.
  skipped: list = dataclasses.field(default_factory=list)   # [path, reason].
  ignored: list = dataclasses.field(default_factory=list)   # [path, reason].
  folders: dict = dataclasses.field(default_factory=dict)   # folder -> target.
  missing_gms: list = dataclasses.field(default_factory=list)

  def skip(self, path: str, reason: str) -> None:
    self.skipped.append([path, reason])

  def ignore(self, path: str, reason: str) -> None:
    self.ignored.append([path, reason])

  def to_json(self) -> dict:
    return {
        'dataset': self.dataset,
        'written': dict(sorted(self.written.items())),
        'total_written': sum(self.written.values()),
        'per_gm': dict(sorted(self.per_gm.items())),
        'converted': dict(sorted(self.converted.items())),
        'num_skipped': len(self.skipped),
        'skipped': sorted(self.skipped),
        'num_ignored': len(self.ignored),
        'ignored': sorted(self.ignored),
        'folders': dict(sorted(self.folders.items())),
        'missing_gms': sorted(self.missing_gms),
    }

  def save(self, directory: str) -> str:
    path = os.path.join(directory, 'build_report.json')
    return files.write_json(self.to_json(), path)


def summary(report: dict, limit: int = 20) -> str:
  """A human-readable summary of a saved report (``to_json`` dict)."""
  lines = [f'{report["dataset"]}: wrote {report["total_written"]} examples '
           f'in {len(report["written"])} splits: ' +
           ', '.join(f'{k}={v}' for k, v in report['written'].items())]
  if report['converted']:
    lines.append('converted to 8-bit RGB PNG: ' + ', '.join(
        f'{k}: {v}' for k, v in report['converted'].items()))
  for key, title in (('skipped', 'SKIPPED unreadable files'),
                     ('ignored', 'IGNORED paths')):
    items = report[key]
    if items:
      lines.append(f'{title}: {len(items)}')
      lines += [f'  {p}: {why}' for p, why in items[:limit]]
      if len(items) > limit:
        lines.append(f'  ... {len(items) - limit} more in build_report.json')
  missing = report['missing_gms']
  if missing:
    more = f' ... {len(missing) - limit} more' if len(missing) > limit else ''
    lines.append(f'GMs with no folder ({len(missing)}): '
                 + ', '.join(missing[:limit]) + more)
  return '\n'.join(lines)
