"""Where the device time goes, read from a ``jax.profiler`` trace.

``jax.profiler.trace(dir)`` writes ``plugins/profile/<run>/*.trace.json.gz``
(Chrome trace format) next to the xplane file. This sums the complete events
('ph' == 'X') of the device processes (names containing 'GPU', 'TPU' or
'/device:') by event name, so a benchmark run can print its top ops without
TensorBoard. Of a device's threads only one level is summed, so nested
events are not counted twice: the 'XLA Ops' line (one event per HLO op) if
there is one, else the 'Stream' lines (kernels), else all of them. On CPU
there is no device process and the host threads are summed instead (marked
in the result). Kinds are guessed from the event name and its 'long_name'
(the HLO instruction) where the trace has one.
"""

from __future__ import annotations

import collections
import glob
import gzip
import json
import os
import re

# Coarse kinds by event name, first match wins (XLA GPU fusions and cuDNN /
# cuBLAS kernels; names differ across versions, so this is a heuristic).
KINDS = (('convolution', r'conv|cudnn|implicit_gemm|wgrad|dgrad|fprop|sm90_xmma'),
         ('matmul', r'gemm|cublas|cutlass|dot|matmul'),
         ('transpose / copy', r'transpose|copy|memcpy|memset'),
         ('reduction', r'reduce|reduction'),
         ('fusion (element-wise)', r'fusion|loop|input_'))


def latest_trace(profile_dir: str) -> str:
  paths = sorted(glob.glob(os.path.join(profile_dir, 'plugins', 'profile',
                                        '*', '*.trace.json.gz')))
  if not paths:
    raise FileNotFoundError(f'no *.trace.json.gz under {profile_dir}/plugins/'
                            'profile (was jax.profiler.trace run there?)')
  return paths[-1]


def kind_of(name: str) -> str:
  low = name.lower()
  for kind, pattern in KINDS:
    if re.search(pattern, low):
      return kind
  return 'other'


def summarize(path: str, top: int = 15) -> dict:
  """Total device time, the ``top`` events by time, and time per kind."""
  with gzip.open(path, 'rt') as f:
    events = json.load(f)['traceEvents']
  meta = lambda kind: {
      (e['pid'], e.get('tid')) if kind == 'thread_name' else e['pid']:
      e.get('args', {}).get('name', '') for e in events
      if e.get('ph') == 'M' and e.get('name') == kind}
  names, threads = meta('process_name'), meta('thread_name')
  device = {pid for pid, n in names.items()
            if re.search(r'GPU|TPU|/device:', n)}
  source = 'device' if device else 'host'
  pids = device or set(names)
  lines = {k for k in threads if k[0] in pids}
  for pattern in ('XLA Ops', 'Stream'):
    chosen = {k for k in lines if pattern in threads[k]}
    if chosen:
      lines = chosen
      break
  by_name = collections.defaultdict(lambda: [0.0, 0, ''])
  for e in events:
    if (e.get('ph') == 'X' and (e.get('pid'), e.get('tid')) in lines
        and not e['name'].startswith('$')):   # '$': Python frames.
      row = by_name[e['name']]
      row[0] += float(e.get('dur', 0.0))
      row[1] += 1
      row[2] = row[2] or str(e.get('args', {}).get('long_name', ''))
  total_us = sum(t for t, _, _ in by_name.values())
  kinds = collections.Counter()
  for name, (t, _, long_name) in by_name.items():
    kinds[kind_of(f'{name} {long_name}')] += t
  ranked = sorted(by_name.items(), key=lambda kv: -kv[1][0])[:top]
  share = lambda t: t / total_us if total_us else 0.0
  return {'trace': path, 'source': source,
          'processes': sorted(names[p] for p in pids),
          'lines': sorted({threads[k] for k in lines}),
          'total_ms': total_us / 1e3,
          'top': [{'name': n, 'ms': t / 1e3, 'count': c, 'share': share(t),
                   'kind': kind_of(f'{n} {ln}'), 'detail': ln[:160]}
                  for n, (t, c, ln) in ranked],
          'kinds': {k: {'ms': t / 1e3, 'share': share(t)}
                    for k, t in kinds.most_common()}}
