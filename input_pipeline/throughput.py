"""Measuring the training pipeline: images/s per CPU core and the raw
decode + resize rate of the same files (``python -m input_pipeline.benchmark``).
"""

from __future__ import annotations

import glob
import os
import time

from input_pipeline.tf_runtime import tf, tfds
from input_pipeline import pipeline


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
  files, _ = pipeline.stream_files(builder, split_expr)
  rec = next(iter(tf.data.TFRecordDataset(files[:1])))
  ex = builder.info.features.deserialize_example(
      rec, decoders={'image': tfds.decode.SkipDecoding()})
  return list(tf.io.decode_image(ex['image'], channels=3).shape[:2])
