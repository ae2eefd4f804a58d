"""The benchmark suite: ``run(config, what, batch_sizes, options)``.

Sections (``what``): flops, roofline, latency, infer, train, checkpoint (two
saves of the train state), pipeline (the host input pipeline; needs
TensorFlow and a built data set).
"""

from __future__ import annotations

import json

from lgpn_jax.benchmarks.measure import Bench, Options, device_info, versions
from lgpn_jax.perf import trace_summary

SECTIONS = ('flops', 'roofline', 'latency', 'infer', 'train', 'checkpoint',
            'pipeline')


def run(config, what, batch_sizes, options: Options) -> dict:
  """Runs the sections ``what`` at ``batch_sizes``; the result dict."""
  unknown = set(what) - set(SECTIONS)
  if unknown:
    raise ValueError(f'--what: unknown sections {sorted(unknown)}; '
                     f'choose from {SECTIONS}')
  bench = Bench(config, options)
  result = {'device': device_info(), 'versions': versions(),
            'dtype': config.model.dtype, 'image_size': bench.size,
            'fold_bn': bench.fold_bn,
            'parameters': bench.num_params,
            'inputs': 'synthetic, device-resident (no input pipeline)'}
  if 'flops' in what or 'infer' in what or 'train' in what:
    result['flops'] = bench.flops()
  if 'roofline' in what:
    result['roofline'] = bench.roofline(max(batch_sizes))
  if 'latency' in what:
    result['latency'] = bench.latency()
  if 'infer' in what:
    result['infer'] = [bench.infer(b) for b in batch_sizes]
  if 'train' in what:
    result['train'] = [
        bench.train(b, profile=bool(options.profile_dir)
                    and b == max(batch_sizes)) for b in batch_sizes]
    if options.profile_dir:
      result['profile'] = trace_summary.summarize(
          trace_summary.latest_trace(options.profile_dir))
      result['profile']['steps'] = options.profile_steps
  if 'checkpoint' in what:
    result['checkpoint'] = bench.checkpoint(max(batch_sizes))
  if 'pipeline' in what:
    result['pipeline'] = pipeline_section(options)
  return result


def pipeline_section(options: Options) -> dict:
  """Host input-pipeline rates (TensorFlow; see input_pipeline/benchmark.py)."""
  if not options.pipeline_data_dir:
    return {'skipped': 'pass --pipeline_data_dir (a built data set)'}
  try:
    from input_pipeline import tf_runtime  # noqa: F401 (TensorFlow here?)
  except ImportError as e:
    return {'skipped': f'TensorFlow is not installed ({e})'}
  from input_pipeline import benchmark as pipeline_benchmark
  import tempfile
  with tempfile.TemporaryDirectory() as tmp:
    out = f'{tmp}/pipeline.json'
    pipeline_benchmark.main(['--data_dir', options.pipeline_data_dir,
                             '--dataset', options.pipeline_dataset,
                             '--out', out])
    with open(out) as f:
      return json.load(f)
