"""lgpn_jax/perf/trace_summary.py on hand-made traces with known totals, and on a
real jax.profiler trace of this machine."""

import gzip
import json

import jax
import jax.numpy as jnp
import pytest

from lgpn_jax.perf import trace_summary
def _write(tmp_path, events):
  run = tmp_path / 'plugins' / 'profile' / '2026_01_01'
  run.mkdir(parents=True)
  with gzip.open(run / 'host.trace.json.gz', 'wt') as f:
    json.dump({'traceEvents': events}, f)
  return trace_summary.latest_trace(str(tmp_path))


def _meta(kind, pid, name, tid=None):
  e = {'ph': 'M', 'name': kind, 'pid': pid, 'args': {'name': name}}
  if tid is not None:
    e['tid'] = tid
  return e


def _x(pid, tid, name, dur, long_name=None):
  e = {'ph': 'X', 'pid': pid, 'tid': tid, 'name': name, 'ts': 0, 'dur': dur}
  if long_name:
    e['args'] = {'long_name': long_name}
  return e


def test_device_ops_line_is_summed_once(tmp_path):
  events = [
      _meta('process_name', 1, '/host:CPU'),
      _meta('process_name', 2, '/device:GPU:0'),
      _meta('thread_name', 1, 'python', tid=1),
      _meta('thread_name', 2, 'XLA Modules', tid=10),
      _meta('thread_name', 2, 'XLA Ops', tid=11),
      _meta('thread_name', 2, 'Stream #13(Compute)', tid=12),
      _x(1, 1, 'PjitFunction(step)', 5000),               # host: ignored.
      _x(2, 10, 'jit_step', 1000),                         # module: ignored.
      _x(2, 11, 'fusion.1', 300, '%fusion.1 = f32[] fusion(...), kind=kLoop'),
      _x(2, 11, 'fusion.1', 100),
      _x(2, 11, 'custom-call.7', 500,
         '%custom-call.7 = custom-call(...), target="__cudnn$convForward"'),
      _x(2, 11, 'transpose.2', 100),
      _x(2, 12, 'sm90_xmma_fprop_kernel', 480),            # kernel: ignored.
  ]
  r = trace_summary.summarize(_write(tmp_path, events))
  assert r['source'] == 'device' and r['lines'] == ['XLA Ops']
  assert r['total_ms'] == pytest.approx(1.0)
  assert [op['name'] for op in r['top']] == ['custom-call.7', 'fusion.1',
                                             'transpose.2']
  conv, fusion, transpose = r['top']
  assert conv['kind'] == 'convolution' and conv['share'] == pytest.approx(0.5)
  assert fusion['count'] == 2 and fusion['ms'] == pytest.approx(0.4)
  assert fusion['kind'] == 'fusion (element-wise)'
  assert transpose['kind'] == 'transpose / copy'
  assert r['kinds']['convolution']['ms'] == pytest.approx(0.5)
  assert sum(k['share'] for k in r['kinds'].values()) == pytest.approx(1.0)


def test_stream_lines_when_there_is_no_ops_line(tmp_path):
  events = [
      _meta('process_name', 2, '/device:GPU:0'),
      _meta('thread_name', 2, 'Stream #13(Compute)', tid=12),
      _meta('thread_name', 2, 'Stream #14(MemcpyH2D)', tid=13),
      _meta('thread_name', 2, 'XLA Modules', tid=10),
      _x(2, 10, 'jit_step', 1000),
      _x(2, 12, 'cutlass_gemm', 250),
      _x(2, 13, 'memcpy', 50),
  ]
  r = trace_summary.summarize(_write(tmp_path, events), top=1)
  assert r['total_ms'] == pytest.approx(0.3)
  assert [op['name'] for op in r['top']] == ['cutlass_gemm']
  assert r['top'][0]['kind'] == 'matmul'


def test_missing_trace_is_a_clear_error(tmp_path):
  with pytest.raises(FileNotFoundError, match='trace.json.gz'):
    trace_summary.latest_trace(str(tmp_path))


def test_real_cpu_trace(tmp_path):
  f = jax.jit(lambda x: jnp.tanh(x @ x.T).sum())
  x = jnp.ones((64, 64))
  f(x).block_until_ready()
  with jax.profiler.trace(str(tmp_path)):
    f(x).block_until_ready()
  r = trace_summary.summarize(trace_summary.latest_trace(str(tmp_path)))
  assert r['source'] == 'host' and r['total_ms'] > 0
  assert not any(op['name'].startswith('$') for op in r['top'])
