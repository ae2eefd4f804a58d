"""The performance table: our benchmark.py JSON files next to the reference's
H100 figures, with the ratio for each row (markdown, for docs/PERFORMANCE.md).

  python scripts/perf_table.py bench_out/*.json

Each row takes the best of the given files that measured it (the file is
named in the last column), so variants (remat, shifted upsampling, ...) can
be compared by running them into separate files.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

# The authors' PyTorch LGP_Net on one H100 80GB HBM3, torch 2.11, 256x256
# (docs/PERFORMANCE.md, "The reference").
# (label, kind, dtype, batch, reference value, unit, higher is better)
REFERENCE = (
    ('training, batch 32, fp32 (reference: TF32)', 'train', 'float32', 32,
     83.0, 'img/s', True),
    ('training, batch 32, bf16', 'train', 'bfloat16', 32, 145.0, 'img/s', True),
    ('training, batch 64, bf16', 'train', 'bfloat16', 64, 156.0, 'img/s', True),
    ('training, batch 128, bf16 (reference: out of memory)', 'train',
     'bfloat16', 128, None, 'img/s', True),
    ('inference latency, batch 1, fp32 (reference: TF32)', 'latency',
     'float32', 1, 17.4, 'ms', False),
    ('inference latency, batch 1, bf16', 'latency', 'bfloat16', 1, 20.0, 'ms',
     False),
    ('inference, batch 64, bf16', 'infer', 'bfloat16', 64, 550.0, 'img/s',
     True),
)
REFERENCE_GFLOPS = 178.9
TARGETS = {'train': 470.0, 'latency': 6.0, 'infer': 1650.0}


def measurements(results: dict[str, dict]):
  """(kind, dtype, batch) -> [(value, file, row)] over every file."""
  out = {}
  for name, r in results.items():
    dtype = r.get('dtype')
    if 'latency' in r:
      out.setdefault(('latency', dtype, 1), []).append(
          (r['latency']['median_ms'], name, r['latency']))
    for kind in ('infer', 'train'):
      for row in r.get(kind, []):
        out.setdefault((kind, dtype, row['batch']), []).append(
            (row['img_s'], name, row))
  return out


def _fmt_row(row: dict) -> str:
  extra = []
  mem = row.get('peak_memory_gib') or row.get('compiled_memory_gib')
  if mem:
    extra.append(f'{mem:.1f} GiB')
  if 'mfu' in row:
    extra.append(f'MFU {row["mfu"]:.0%}')
  if 'p90_ms' in row:
    extra.append(f'p90 {row["p90_ms"]:.2f} ms')
  return f' ({", ".join(extra)})' if extra else ''


def table(results: dict[str, dict]) -> list[str]:
  found = measurements(results)
  lines = ['| measurement | reference | ours | ratio | from |',
           '|---|---|---|---|---|']
  flops = next((r['flops'] for r in results.values() if 'flops' in r), None)
  if flops:
    lines.append(f'| forward GFLOPs / image (conv + matmul) | '
                 f'{REFERENCE_GFLOPS} | {flops["matmul_gflops"]:.2f} | '
                 f'{flops["matmul_gflops"] / REFERENCE_GFLOPS:.2f} | |')
  for label, kind, dtype, batch, ref, unit, higher in REFERENCE:
    candidates = found.get((kind, dtype, batch))
    if not candidates:
      ours, ratio, source = 'not measured', '—', ''
    else:
      value, source, row = (max if higher else min)(candidates,
                                                    key=lambda c: c[0])
      ours = f'{value:,.1f} {unit}{_fmt_row(row)}'
      if ref is None:
        ratio = '—'
      else:
        ratio = f'{(value / ref if higher else ref / value):.2f}x'
    ref_s = 'out of memory' if ref is None else f'{ref:,.1f} {unit}'
    lines.append(f'| {label} | {ref_s} | {ours} | {ratio} | {source} |')
  return lines


def targets(results: dict[str, dict]) -> list[str]:
  """Each target against the best bf16 figure of any batch."""
  found = measurements(results)
  lines = []
  for kind, target in TARGETS.items():
    values = [c for (k, dtype, _), cs in found.items()
              if k == kind and dtype == 'bfloat16' for c in cs]
    if not values:
      lines.append(f'- {kind}: not measured (target {target})')
      continue
    higher = kind != 'latency'
    value, source, row = (max if higher else min)(values, key=lambda c: c[0])
    met = value >= target if higher else value <= target
    unit = 'ms' if kind == 'latency' else 'img/s'
    where = f', batch {row["batch"]}' if 'batch' in row else ''
    lines.append(f'- {kind}: best {value:,.1f} {unit} ({source}{where}); '
                 f'target {target:,.0f} {unit}: {"met" if met else "missed"}')
  return lines


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  parser.add_argument('files', nargs='+', help='benchmark.py --out JSON files')
  args = parser.parse_args(argv)
  results = {}
  for path in args.files:
    try:
      with open(path) as f:
        results[os.path.basename(path)] = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
      parser.error(f'cannot read {path}: {e}')
  devices = {r['device']['device_kind'] for r in results.values()
             if 'device' in r}
  if len(devices) > 1:
    print(f'warning: files from different devices: {sorted(devices)}',
          file=sys.stderr)
  print(f'device: {", ".join(sorted(devices)) or "unknown"}\n')
  print('\n'.join(table(results)))
  print()
  print('\n'.join(targets(results)))
  return 0


if __name__ == '__main__':
  sys.exit(main())
