r"""Input-pipeline benchmark: images/s per CPU core, decode + resize + batch.

    python -m input_pipeline.benchmark --data_dir=DIR --dataset=synthetic \
        --image_sizes=64,256 --out=pipeline.json

Runs the full training pipeline (``pipeline.train_dataset``: shard interleave,
record shuffle, real/generated mixing, parallel decode, resize, scale, batch)
over an already built data set, once with tf.data restricted to one thread
(the per-core rate) and once with one thread per CPU core, for each output
image size. Writes JSON and prints a table.
"""

from __future__ import annotations

import tensorflow as tf

tf.config.set_visible_devices([], 'GPU')

import argparse  # noqa: E402
import datetime  # noqa: E402
import glob  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from input_pipeline import pipeline, splits  # noqa: E402


def find_build(data_dir: str, dataset: str) -> str:
  """The version directory of ``dataset`` ('red140', 'synthetic' or
  'synthetic/<config>') under ``data_dir``; errors list what is there."""
  depth = ('*',) if dataset == 'red140' or '/' in dataset else ('*', '*')
  found = sorted(glob.glob(os.path.join(data_dir, dataset, *depth,
                                        'dataset_info.json')))
  rel = lambda p: os.path.relpath(os.path.dirname(p), data_dir)  # noqa: E731
  if not found:
    built = [rel(p) for p in glob.glob(os.path.join(
        data_dir, '**', 'dataset_info.json'), recursive=True)]
    raise FileNotFoundError(
        f'no built {dataset!r} under {data_dir} (built there: '
        f'{sorted(built) or "nothing"}); build one with '
        'python -m input_pipeline.build')
  if len(found) > 1:
    raise ValueError(f'several builds match {dataset!r}: '
                     f'{[rel(p) for p in found]}; name one as '
                     'synthetic/<config>')
  return os.path.dirname(found[0])


def measure(builder, split_expr: str, *, image_size: int, batch_size: int,
            threads: int, seconds: float, warmup: int = 3) -> dict:
  """Images per second of the training pipeline with ``threads`` threads."""
  ds = pipeline.train_dataset(builder, split_expr, batch_size=batch_size,
                              image_size=image_size, threads=threads,
                              shuffle_buffer=1000, process_index=0,
                              process_count=1)
  it = iter(ds)
  for _ in range(warmup):
    next(it)
  images = 0
  start = time.perf_counter()
  while time.perf_counter() - start < seconds:
    images += int(next(it)['image'].shape[0])
  elapsed = time.perf_counter() - start
  rate = images / elapsed
  return {'threads': threads, 'images': images, 'seconds': round(elapsed, 3),
          'images_per_s': round(rate, 1),
          'images_per_s_per_core': round(rate / threads, 1)}


def measure_raw_decode(builder, split_expr: str, *, image_size: int,
                       seconds: float, num_images: int = 256) -> dict:
  """One thread decoding + resizing + scaling in-memory encoded images: the
  raw rate of docs PERF_NOTES.md, to compare the full pipeline against."""
  import tensorflow_datasets as tfds
  files, _ = pipeline.stream_files(builder, split_expr)
  skip = {'image': tfds.decode.SkipDecoding()}
  encoded = [builder.info.features.deserialize_example(r, decoders=skip)[
      'image'] for r in tf.data.TFRecordDataset(files).take(num_images)]
  ds = tf.data.Dataset.from_tensor_slices(tf.stack(encoded)).repeat()
  ds = ds.map(lambda x: pipeline.decode_image(x, image_size)).batch(64)
  ds = ds.with_options(pipeline._options(True, 1))
  images = 0
  start = time.perf_counter()
  for batch in ds:
    images += int(batch.shape[0])
    if time.perf_counter() - start > seconds:
      break
  rate = images / (time.perf_counter() - start)
  return {'threads': 1, 'images_per_s': round(rate, 1)}


def source_size(builder, split_expr: str) -> list[int]:
  """[height, width] of the first stored image (sources may vary in size)."""
  import tensorflow_datasets as tfds
  files, _ = pipeline.stream_files(builder, split_expr)
  rec = next(iter(tf.data.TFRecordDataset(files[:1])))
  ex = builder.info.features.deserialize_example(
      rec, decoders={'image': tfds.decode.SkipDecoding()})
  return list(tf.io.decode_image(ex['image'], channels=3).shape[:2])


def _parser() -> argparse.ArgumentParser:
  p = argparse.ArgumentParser(
      prog='python -m input_pipeline.benchmark', description=__doc__,
      formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument('--data_dir', required=True, help='TFDS data directory')
  p.add_argument('--dataset', default='synthetic',
                 help="'red140', 'synthetic' (the only build there) or "
                 "'synthetic/<config>' (default: synthetic)")
  p.add_argument('--split', default=None,
                 help='split expression to read (default: fold 1 training '
                 'splits, as training does)')
  p.add_argument('--image_sizes', default='64,256',
                 help='comma-separated output sizes (default 64,256)')
  p.add_argument('--batch_size', type=int, default=64)
  p.add_argument('--seconds', type=float, default=10.0,
                 help='measuring time per configuration')
  p.add_argument('--threads', default=None,
                 help='comma-separated thread counts (default: 1 and the '
                 'CPU count)')
  p.add_argument('--out', default='pipeline.json', help='JSON output path')
  return p


def main(argv=None) -> int:
  args = _parser().parse_args(argv)
  try:
    sizes = [int(s) for s in args.image_sizes.split(',') if s]
    cores = os.cpu_count() or 1
    threads = ([int(t) for t in args.threads.split(',')] if args.threads
               else sorted({1, cores}))
    if not sizes or min(sizes) < 1 or min(threads) < 1:
      raise ValueError('image sizes and thread counts must be positive')
    builder = pipeline.open_builder(find_build(args.data_dir, args.dataset))
    split = args.split or splits.fold_splits(1, 'paper',
                                             builder.info.splits.keys())[0]
  except (ValueError, FileNotFoundError) as e:
    print(f'error: {e}', file=sys.stderr)
    return 2
  results = []
  raw = {}
  for size in sizes:
    raw[size] = measure_raw_decode(builder, split, image_size=size,
                                   seconds=args.seconds / 2)
    print(f'image_size {size:4d}  raw decode+resize, 1 thread: '
          f'{raw[size]["images_per_s"]:9.1f} img/s', flush=True)
    for t in threads:
      r = measure(builder, split, image_size=size, batch_size=args.batch_size,
                  threads=t, seconds=args.seconds)
      r['image_size'] = size
      r['vs_raw_decode'] = round(r['images_per_s_per_core']
                                 / raw[size]['images_per_s'], 3)
      results.append(r)
      print(f'image_size {size:4d}  threads {t:2d}  {r["images_per_s"]:9.1f} '
            f'img/s  {r["images_per_s_per_core"]:9.1f} img/s/core', flush=True)
  report = {
      'dataset': os.fspath(builder.data_dir),
      'split': split,
      'source_image_size': source_size(builder, split),
      'batch_size': args.batch_size,
      'cpu_count': cores,
      'machine': platform.processor() or platform.machine(),
      'tensorflow': tf.__version__,
      'date': datetime.date.today().isoformat(),
      'raw_decode': {str(k): v for k, v in raw.items()},
      'results': results,
  }
  with open(args.out, 'w') as f:
    json.dump(report, f, indent=1)
    f.write('\n')
  print(f'wrote {args.out}')
  return 0


if __name__ == '__main__':
  sys.exit(main())
