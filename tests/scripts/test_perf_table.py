"""scripts/perf_table.py: best-of-files selection, ratios, targets."""

import json

from scripts import perf_table


def _result(dtype, latency_ms=None, infer=(), train=(), flops=None):
  r = {'dtype': dtype, 'device': {'device_kind': 'NVIDIA H100 80GB HBM3'}}
  if latency_ms is not None:
    r['latency'] = {'median_ms': latency_ms, 'p90_ms': latency_ms + 0.5}
  r['infer'] = [{'batch': b, 'img_s': v} for b, v in infer]
  r['train'] = [{'batch': b, 'img_s': v, 'peak_memory_gib': 30.0, 'mfu': 0.2}
                for b, v in train]
  if flops:
    r['flops'] = {'matmul_gflops': flops}
  return r


RESULTS = {
    'baseline.json': _result('bfloat16', 2.0, infer=[(64, 1100.0)],
                             train=[(32, 290.0), (64, 312.0)], flops=178.89),
    'shifted.json': _result('bfloat16', 1.8, train=[(64, 330.0)]),
    'fp32.json': _result('float32', 5.0, train=[(32, 100.0)]),
}


def _row(lines, label):
  (line,) = [l for l in lines if l.startswith(f'| {label}')]
  return [c.strip() for c in line.strip('|').split('|')]


def test_rows_take_the_best_file_and_the_right_ratio():
  lines = perf_table.table(RESULTS)
  row = _row(lines, 'training, batch 64, bf16')
  assert row[2].startswith('330.0 img/s') and row[4] == 'shifted.json'
  assert row[3] == f'{330 / 156:.2f}x'
  row = _row(lines, 'training, batch 32, bf16')
  assert row[3] == f'{290 / 145:.2f}x' and 'MFU 20%' in row[2]
  # Latency: lower is better, the ratio is reference / ours.
  row = _row(lines, 'inference latency, batch 1, bf16')
  assert row[2].startswith('1.8 ms') and row[3] == f'{20.0 / 1.8:.2f}x'
  row = _row(lines, 'inference latency, batch 1, fp32')
  assert row[3] == f'{17.4 / 5.0:.2f}x'
  row = _row(lines, 'training, batch 128')
  assert row[1] == 'out of memory' and row[2] == 'not measured'
  row = _row(lines, 'forward GFLOPs')
  assert row[2] == '178.89' and row[3] == f'{178.89 / 178.9:.2f}'


def test_targets_report_met_and_missed():
  lines = perf_table.targets(RESULTS)
  assert any(l.startswith('- train: best 330.0 img/s') and 'missed' in l
             for l in lines)
  assert any(l.startswith('- latency: best 1.8 ms') and l.endswith('met')
             for l in lines)
  assert any(l.startswith('- infer: best 1,100.0') and 'missed' in l
             for l in lines)


def test_cli_reads_files(tmp_path, capsys):
  paths = []
  for name, r in RESULTS.items():
    p = tmp_path / name
    p.write_text(json.dumps(r))
    paths.append(str(p))
  assert perf_table.main(paths) == 0
  out = capsys.readouterr().out
  assert out.startswith('device: NVIDIA H100 80GB HBM3')
  assert '| inference, batch 64, bf16 | 550.0 img/s | 1,100.0 img/s' in out
