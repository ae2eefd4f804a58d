r"""Benchmarks: parameters, FLOPs, roofline, compile time, latency, inference
and training throughput, peak memory and MFU, on device-resident inputs.

usage: python benchmark.py --config=configs/default.py
           --what=flops,latency,infer,train --batch_sizes=32,64,128
           --peak_tflops=989 --out=bench.json

Images come from device memory (random, created once), so no input-pipeline
cost is included; --what=pipeline measures the host pipeline separately
(needs TensorFlow). Everything runs on whatever JAX sees (GPU, TPU or CPU);
on CPU use a small config (configs/tiny.py) for a smoke run. Prints a table
and writes every number to the JSON file given by --out
(lgpn_jax/benchmarks: what each number means).
"""

import sys

from absl import flags

from lgpn_jax import cli, files


def define(fv, argv):
  cli.config_file(fv, argv, default='configs/default.py')
  flags.DEFINE_list('what', ['flops', 'latency', 'infer', 'train'],
                    'Sections to run, any of flops, roofline, latency, infer, '
                    'train, checkpoint, pipeline '
                    '(lgpn_jax/benchmarks/suite.py).',
                    flag_values=fv)
  flags.DEFINE_list('batch_sizes', ['32', '64'], 'Global batch sizes for '
                    'infer and train.', flag_values=fv)
  flags.DEFINE_enum('dtype', None, ['float32', 'bfloat16'], "Compute dtype "
                    "(default: the config's).", flag_values=fv)
  flags.DEFINE_float('peak_tflops', None, 'Device peak TFLOP/s for MFU (e.g. '
                     '989 for H100 SXM bf16 dense); MFU is omitted without '
                     'it.', flag_values=fv)
  flags.DEFINE_float('peak_tbps', None, 'Device memory bandwidth, read + '
                     'write, in TB/s, for --what=roofline (with '
                     '--peak_tflops; an H100 measured 798 TFLOP/s bf16 matmul '
                     'and 3.0 TB/s).', flag_values=fv)
  flags.DEFINE_integer('iters', 20, 'Timed iterations per measurement.',
                       flag_values=fv)
  flags.DEFINE_integer('warmup', 3, 'Untimed iterations after compile.',
                       flag_values=fv)
  flags.DEFINE_integer('latency_iters', 100, 'Timed batch-1 forward passes.',
                       flag_values=fv)
  flags.DEFINE_string('out', 'benchmark.json', 'JSON output path.',
                      flag_values=fv)
  flags.DEFINE_string('pipeline_data_dir', '', 'TFDS data dir holding a '
                      'built data set, for --what=pipeline.', flag_values=fv)
  flags.DEFINE_string('pipeline_dataset', 'synthetic', "Data set for "
                      "--what=pipeline: 'red140', 'synthetic' or "
                      "'synthetic/<config>'.", flag_values=fv)
  flags.DEFINE_enum('parallel', None, ['shard_map', 'pmap'], 'Data-parallel '
                    "wrapper of the train step (default: the config's "
                    'train.parallel).', flag_values=fv)
  flags.DEFINE_string('profile_dir', '', 'If set, write a jax.profiler trace '
                      'of --profile_steps train steps (after the timed ones, '
                      "largest batch) here; open it with TensorBoard's "
                      'profile plugin or xprof.', flag_values=fv)
  flags.DEFINE_integer('profile_steps', 3, 'Train steps in the --profile_dir '
                       'trace.', flag_values=fv)
  flags.DEFINE_integer('cpu_devices', 0, 'Simulate this many CPU devices '
                       '(scaling check on a machine without accelerators); '
                       '0 = leave JAX alone.', flag_values=fv)


def body(fv):
  import jax
  if fv.cpu_devices:
    jax.config.update('jax_num_cpu_devices', fv.cpu_devices)
    jax.config.update('jax_platforms', 'cpu')
  from lgpn_jax.benchmarks import measure, suite, table
  config = fv.config
  if fv.dtype:
    with config.unlocked():
      config.model.dtype = fv.dtype
  try:
    batch_sizes = [int(b) for b in fv.batch_sizes]
  except ValueError:
    raise ValueError(f'--batch_sizes must be integers, got '
                     f'{fv.batch_sizes}') from None
  options = measure.Options(
      peak_tflops=fv.peak_tflops, peak_tbps=fv.peak_tbps, iters=fv.iters,
      warmup=fv.warmup, latency_iters=fv.latency_iters, parallel=fv.parallel,
      profile_dir=fv.profile_dir, profile_steps=fv.profile_steps,
      pipeline_data_dir=fv.pipeline_data_dir,
      pipeline_dataset=fv.pipeline_dataset)
  result = suite.run(config, fv.what, batch_sizes, options)
  result['command'] = ' '.join(sys.argv)
  print(table.format_table(result))
  files.write_json(result, fv.out, indent=2)
  print(f'wrote {fv.out}')
  return 0


def main(argv=None) -> int:
  return cli.run([sys.argv[0]] + list(sys.argv[1:] if argv is None else argv),
                 __doc__, define, body, compiles=True)


if __name__ == '__main__':
  sys.exit(main())
