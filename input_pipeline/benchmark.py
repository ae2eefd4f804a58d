r"""Input-pipeline benchmark: images/s per CPU core, decode + resize + batch.

usage: python -m input_pipeline.benchmark --data_dir=DIR --dataset=synthetic
           --image_sizes=64,256 --out=pipeline.json

Runs the full training pipeline (``pipeline.train_dataset``: shard interleave,
record shuffle, real/generated mixing, parallel decode, resize, scale, batch)
over an already built data set, once with tf.data restricted to one thread
(the per-core rate) and once with one thread per CPU core, for each output
image size, beside the raw decode + resize rate of the same files in a tight
loop. Writes JSON and prints a table.
"""

from __future__ import annotations

import datetime
import os
import platform
import sys

from absl import flags

from lgpn_jax import cli, files


def define(fv: flags.FlagValues, argv) -> None:
  del argv   # (no config file here)
  flags.DEFINE_string('data_dir', None, 'TFDS data directory.',
                      flag_values=fv)
  flags.DEFINE_string('dataset', 'synthetic', "'red140', 'synthetic' (the "
                      "only build there) or 'synthetic/<config>'.",
                      flag_values=fv)
  flags.DEFINE_string('split', None, 'Split expression to read (default: '
                      'fold 1 training splits, as training does).',
                      flag_values=fv)
  flags.DEFINE_list('image_sizes', ['64', '256'], 'Output image sizes.',
                    flag_values=fv)
  flags.DEFINE_integer('batch_size', 64, 'Images per batch.', flag_values=fv)
  flags.DEFINE_float('seconds', 10.0, 'Measuring time per configuration.',
                     flag_values=fv)
  flags.DEFINE_list('threads', None, 'Thread counts (default: 1 and the CPU '
                    'count).', flag_values=fv)
  flags.DEFINE_string('out', 'pipeline.json', 'JSON output path.',
                      flag_values=fv)


def body(fv: flags.FlagValues) -> int:
  cli.required(fv, 'data_dir')
  sizes = [int(s) for s in fv.image_sizes if s]
  cores = os.cpu_count() or 1
  threads = ([int(t) for t in fv.threads] if fv.threads
             else sorted({1, cores}))
  if not sizes or min(sizes) < 1 or min(threads) < 1:
    raise ValueError('image sizes and thread counts must be positive')
  from input_pipeline import pipeline, splits, throughput  # TensorFlow.
  builder = pipeline.open_builder(throughput.find_build(fv.data_dir,
                                                        fv.dataset))
  split = fv.split or splits.fold_splits(1, 'paper',
                                         builder.info.splits.keys())[0]
  results = []
  raw = {}
  for size in sizes:
    raw[size] = throughput.measure_raw_decode(builder, split, image_size=size,
                                              seconds=fv.seconds / 2)
    print(f'image_size {size:4d}  raw decode+resize, 1 thread: '
          f'{raw[size]["images_per_s"]:9.1f} img/s', flush=True)
    for t in threads:
      r = throughput.measure(builder, split, image_size=size,
                             batch_size=fv.batch_size, threads=t,
                             seconds=fv.seconds)
      r['image_size'] = size
      r['vs_raw_decode'] = round(r['images_per_s_per_core']
                                 / raw[size]['images_per_s'], 3)
      results.append(r)
      print(f'image_size {size:4d}  threads {t:2d}  {r["images_per_s"]:9.1f} '
            f'img/s  {r["images_per_s_per_core"]:9.1f} img/s/core', flush=True)
  from input_pipeline.tf_runtime import tf
  report = {
      'dataset': os.fspath(builder.data_dir),
      'split': split,
      'source_image_size': throughput.source_size(builder, split),
      'batch_size': fv.batch_size,
      'cpu_count': cores,
      'machine': platform.processor() or platform.machine(),
      'tensorflow': tf.__version__,
      'date': datetime.date.today().isoformat(),
      'raw_decode': {str(k): v for k, v in raw.items()},
      'results': results,
  }
  files.write_json(report, fv.out)
  print(f'wrote {fv.out}')
  return 0


def main(argv=None) -> int:
  return cli.run([sys.argv[0]] + list(sys.argv[1:] if argv is None else argv),
                 __doc__, define, body)


if __name__ == '__main__':
  sys.exit(main())
