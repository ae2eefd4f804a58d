r"""Input-pipeline benchmark: images/s per CPU core of the training stream.

usage: python -m input_pipeline.benchmark [--out=pipeline.json]
       python -m input_pipeline.benchmark --data_dir=DIR --dataset=synthetic
           --image_sizes=64,256

Without ``--data_dir``: builds small PNG and JPEG sources at each of
``--source_sizes`` (default 256, 512, 1024 px; ``bench_sources``, kept in
``--work_dir``) and the same images stored at ``--store_size`` (resized once,
lossless), then runs the full training stream (index stream, reads by
offset, real/generated mixing at 0.2, parallel decode, resize to
``--store_size``, scale, batch) over each, with tf.data limited to each of
``--threads``, beside the raw decode + resize rate of the same files in a
tight loop on one thread, and the cores one GPU needs at ``--gpu_rate``
images/s. Rates are per second of wall time (divided by the thread count:
per core) and per second of the process's CPU time (the cost of an image on
one core, the number to trust on a machine shared with other work; cores per
GPU use it). With ``--data_dir``: the same for an existing build at each of
``--image_sizes``. Both also time the stream's first batch at step 0 and at
``--resume_step`` (a resume), and the index stream alone for a pool of
RED140's size. Writes JSON and prints a table.
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
import tempfile

from absl import flags

from lgpn_jax import cli, files

# A RED140 fold's training pool (generated, real): ~105 GMs of ~1,000 images
# and the real images, ~140,000 records an epoch (configs/default.py).
RED140_RECORDS = (105_000, 35_000)


def define(fv: flags.FlagValues, argv) -> None:
  del argv   # (no config file here)
  flags.DEFINE_string('data_dir', None, 'TFDS data directory of a build to '
                      'measure (default: build benchmark sources).',
                      flag_values=fv)
  flags.DEFINE_string('dataset', 'synthetic', "With --data_dir: 'red140', "
                      "'synthetic' (the only build there) or "
                      "'synthetic/<config>'.", flag_values=fv)
  flags.DEFINE_string('split', None, 'With --data_dir: split expression to '
                      'read (default: fold 1 training splits, as training '
                      'does).', flag_values=fv)
  flags.DEFINE_list('image_sizes', ['64', '256'], 'With --data_dir: output '
                    'image sizes.', flag_values=fv)
  flags.DEFINE_list('formats', ['png', 'jpeg'], 'Benchmark source formats.',
                    flag_values=fv)
  flags.DEFINE_list('source_sizes', ['256', '512', '1024'], 'Benchmark '
                    'source image sizes (multiples of 256).', flag_values=fv)
  flags.DEFINE_integer('store_size', 256, 'Training image size: the read-time '
                       'resize target and the size stored sources hold.',
                       flag_values=fv)
  flags.DEFINE_integer('images', 64, 'Images per benchmark source.',
                       flag_values=fv)
  flags.DEFINE_string('work_dir', os.path.join(tempfile.gettempdir(),
                                               'lgpn_pipeline_bench'),
                      'Where benchmark sources are built and kept.',
                      flag_values=fv)
  flags.DEFINE_integer('batch_size', 64, 'Images per batch.', flag_values=fv)
  flags.DEFINE_float('seconds', 12.0, 'Measuring time per configuration.',
                     flag_values=fv)
  flags.DEFINE_integer('rounds', 3, 'Rounds the measuring time is split '
                       'into, alternating the configurations.',
                       flag_values=fv)
  flags.DEFINE_list('threads', None, 'Thread counts (default: 1 and the CPU '
                    'count).', flag_values=fv)
  flags.DEFINE_integer('resume_step', 10 ** 6, 'Step of the timed resume.',
                       flag_values=fv)
  flags.DEFINE_float('gpu_rate', 400.0, 'Images/s one GPU trains on.',
                     flag_values=fv)
  flags.DEFINE_string('out', 'pipeline.json', 'JSON output path.',
                      flag_values=fv)


def _row(throughput, builder, split, *, image_size, threads, fv) -> dict:
  """Raw rate, stream rates per thread count and their ratios, one source.

  ``--rounds`` alternate the raw loop and the streams, so that a busy spell
  of other work on the machine falls on all of them alike."""
  encoded = throughput.encoded_images(builder, split)
  runs = {None: [], **{t: [] for t in threads}}
  seconds = fv.seconds / fv.rounds
  for _ in range(fv.rounds):
    runs[None].append(throughput.measure_raw_decode(
        encoded, image_size=image_size, seconds=seconds))
    for t in threads:
      runs[t].append(throughput.measure(
          builder, split, image_size=image_size, batch_size=fv.batch_size,
          threads=t, seconds=seconds))
  raw = throughput.combine(runs.pop(None))
  row = {'image_size': image_size,
         'source_image_size': throughput.source_size(builder, split),
         'bytes_per_pixel': throughput.bytes_per_pixel(encoded),
         'raw_decode': raw, 'results': []}
  for r in map(throughput.combine, runs.values()):
    r['vs_raw_decode'] = round(r['images_per_s_per_core']
                               / raw['images_per_s'], 3)
    r['vs_raw_decode_cpu'] = round(r['images_per_cpu_second']
                                   / raw['images_per_cpu_second'], 3)
    row['results'].append(r)
  per_cpu_second = row['results'][0]['images_per_cpu_second']
  row['cores_per_gpu'] = round(fv.gpu_rate / per_cpu_second, 3)
  return row


def _print(name: str, row: dict) -> None:
  raw = row['raw_decode']
  for r in row['results']:
    print(f'{name:>16s} -> {row["image_size"]:4d} {row["bytes_per_pixel"]:5.2f}'
          f' B/px | raw {raw["images_per_s"]:6.0f} img/s '
          f'{raw["images_per_cpu_second"]:6.0f}/cpu-s | stream, {r["threads"]}'
          f' thr: {r["images_per_s"]:6.0f} img/s, {r["images_per_s_per_core"]:6.0f}'
          f'/core ({r["vs_raw_decode"]:.2f} x raw), '
          f'{r["images_per_cpu_second"]:6.0f}/cpu-s ({r["vs_raw_decode_cpu"]:.2f}'
          f' x raw) | {row["cores_per_gpu"]:.2f} cores/GPU', flush=True)


def body(fv: flags.FlagValues) -> int:
  cores = os.cpu_count() or 1
  threads = ([int(t) for t in fv.threads] if fv.threads
             else sorted({1, cores}))
  sizes = [int(s) for s in (fv.image_sizes if fv.data_dir
                            else fv.source_sizes) if s]
  if (not sizes or min(sizes) < 1 or min(threads) < 1 or fv.store_size < 1
      or fv.rounds < 1):
    raise ValueError('image sizes, thread counts and rounds must be positive')
  from input_pipeline import (bench_sources, pipeline, splits,  # TensorFlow.
                              throughput)
  from input_pipeline.tf_runtime import tf
  report = {'batch_size': fv.batch_size, 'cpu_count': cores,
            'machine': platform.processor() or platform.machine(),
            'tensorflow': tf.__version__,
            'date': datetime.date.today().isoformat(), 'gpu_rate': fv.gpu_rate,
            'rows': []}
  if fv.data_dir:
    builder = pipeline.open_builder(throughput.find_build(fv.data_dir,
                                                          fv.dataset))
    split = fv.split or splits.fold_splits(1, 'paper',
                                           builder.info.splits.keys())[0]
    report.update(dataset=os.fspath(builder.data_dir), split=split)
    for size in sizes:
      row = _row(throughput, builder, split, image_size=size, threads=threads,
                 fv=fv)
      _print(builder.name, row)
      report['rows'].append(row)
  else:
    split = 'set0+real'
    report.update(split=split, store_size=fv.store_size, images=fv.images,
                  jpeg_quality=bench_sources.JPEG_QUALITY)
    for fmt in fv.formats:
      for size in sizes:
        for stored in (None, fv.store_size) if size > fv.store_size else (
            None,):
          name = bench_sources.name_of(fmt, size, stored)
          print(f'{name}: building / opening in {fv.work_dir}', flush=True)
          builder = pipeline.open_builder(bench_sources.ensure(
              fv.work_dir, fmt, size, stored, images=fv.images))
          row = _row(throughput, builder, split, image_size=fv.store_size,
                     threads=threads, fv=fv)
          row.update(source=name, format=fmt, stored_size=stored)
          _print(name, row)
          report['rows'].append(row)
  report['resume'] = throughput.measure_resume(   # on the last source.
      builder, split, step=fv.resume_step, batch_size=fv.batch_size,
      image_size=report['rows'][-1]['image_size'])
  report['resume']['index_stream_seconds_red140_size'] = (
      throughput.index_stream_seconds(*RED140_RECORDS, step=fv.resume_step,
                                      batch_size=fv.batch_size))
  print(f'first batch at step 0: '
        f'{report["resume"]["first_batch_seconds_at_0"]:.2f} s, at step '
        f'{fv.resume_step}: {report["resume"]["first_batch_seconds_at_step"]:.2f}'
        ' s', flush=True)
  files.write_json(report, fv.out)
  print(f'wrote {fv.out}')
  return 0


def main(argv=None) -> int:
  return cli.run([sys.argv[0]] + list(sys.argv[1:] if argv is None else argv),
                 __doc__, define, body)


if __name__ == '__main__':
  sys.exit(main())
