"""Measuring the training pipeline (``python -m input_pipeline.benchmark``):
images/s per CPU core, the raw decode + resize rate of the same files, and
the cost of starting the stream far into a run (a resume).
"""

from __future__ import annotations

import glob
import io
import os
import time

from PIL import Image

from input_pipeline.tf_runtime import tf, tfds
from input_pipeline import index_stream, pipeline, stream


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


def _timed(batches, seconds: float, warmup: int) -> dict:
  """Images of ``batches`` (numpy dicts or tensors) over ``seconds`` of wall
  time, and this process's CPU time (all threads) meanwhile."""
  for _ in range(warmup):
    next(batches)
  images = 0
  start, cpu = time.perf_counter(), time.process_time()
  while time.perf_counter() - start < seconds:
    batch = next(batches)
    images += int((batch['image'] if isinstance(batch, dict) else batch
                   ).shape[0])
  return {'images': images, 'seconds': time.perf_counter() - start,
          'cpu_seconds': time.process_time() - cpu}


def combine(rounds: list[dict]) -> dict:
  """Rounds of one configuration -> totals and rates: per second of wall
  time (and per thread: per core) and per second of this process's CPU
  time. On a machine shared with other work, the CPU-time rate is the cost
  of an image on one core; the wall rate is what was seen."""
  out = {k: rounds[0][k] for k in ('threads',)}
  for k in ('images', 'seconds', 'cpu_seconds'):
    out[k] = round(sum(r[k] for r in rounds), 3)
  out['rounds'] = len(rounds)
  out['images_per_s'] = round(out['images'] / out['seconds'], 1)
  out['images_per_s_per_core'] = round(out['images_per_s'] / out['threads'],
                                       1)
  out['images_per_cpu_second'] = round(out['images'] / out['cpu_seconds'], 1)
  return out


def measure(builder, split_expr: str, *, image_size: int, batch_size: int,
            threads: int, seconds: float, real_fraction: float | None = 0.2,
            warmup: int = 3) -> dict:
  """One round of the training stream with tf.data capped at ``threads``
  (a fresh stream: nothing of an earlier round runs in the background)."""
  out = {'threads': threads}
  out.update(_timed(pipeline.train_stream(
      builder, split_expr, batch_size=batch_size, image_size=image_size,
      threads=threads, real_fraction=real_fraction, process_index=0,
      process_count=1), seconds, warmup))
  return out


def encoded_images(builder, split_expr: str, num_images: int = 256) -> list:
  """The first ``num_images`` encoded images of ``split_expr``."""
  files, _ = pipeline.stream_files(builder, split_expr)
  skip = {'image': tfds.decode.SkipDecoding()}
  return [builder.info.features.deserialize_example(r, decoders=skip)[
      'image'] for r in tf.data.TFRecordDataset(files).take(num_images)]


def measure_raw_decode(encoded: list, *, image_size: int,
                       seconds: float) -> dict:
  """One round of one thread decoding + resizing + scaling in-memory encoded
  images in a tight loop: what the full stream is compared with."""
  ds = tf.data.Dataset.from_tensor_slices(tf.stack(encoded)).repeat()
  ds = ds.map(lambda x: pipeline.decode_image(x, image_size)).batch(64)
  out = {'threads': 1}
  out.update(_timed(iter(ds.with_options(stream.options(1))), seconds, 1))
  return out


def bytes_per_pixel(encoded: list) -> float:
  """Encoded bytes per pixel of the images (sizes read from the headers)."""
  pixels = 0
  for x in encoded:
    with Image.open(io.BytesIO(x.numpy())) as img:
      pixels += img.size[0] * img.size[1]
  return round(sum(len(x.numpy()) for x in encoded) / pixels, 3)


def measure_resume(builder, split_expr: str, *, step: int, batch_size: int,
                   image_size: int) -> dict:
  """Seconds from creating the training stream to its first batch, starting
  at step 0 and at ``step`` (a resume; the record index is cached)."""
  out = {'step': step, 'batch_size': batch_size}
  for name, start in (('first_batch_seconds_at_0', 0),
                      ('first_batch_seconds_at_step', step)):
    tic = time.perf_counter()
    next(pipeline.train_stream(builder, split_expr, batch_size=batch_size,
                               image_size=image_size, start_step=start,
                               real_fraction=0.2, process_index=0,
                               process_count=1))
    out[name] = round(time.perf_counter() - tic, 3)
  return out


def index_stream_seconds(num_generated: int, num_real: int, *, step: int,
                         batch_size: int) -> dict:
  """Seconds to make the index stream and the record ids of the first chunk
  of steps from ``step`` (what a resume computes before reading), per
  sampling mode and mixing; no data needed."""
  out = {}
  for sampling in index_stream.SAMPLING:
    for fraction in (None, 0.2):
      tic = time.perf_counter()
      ids = index_stream.IndexStream(num_generated, num_real, batch_size,
                                     real_fraction=fraction,
                                     sampling=sampling)
      for s in range(step, step + stream.CHUNK_STEPS):
        ids.batch(s)
      out[f'{sampling}_real_fraction_{fraction}'] = round(
          time.perf_counter() - tic, 4)
  return out


def source_size(builder, split_expr: str) -> list[int]:
  """[height, width] of the first stored image (sources may vary in size)."""
  files, _ = pipeline.stream_files(builder, split_expr)
  rec = next(iter(tf.data.TFRecordDataset(files[:1])))
  ex = builder.info.features.deserialize_example(
      rec, decoders={'image': tfds.decode.SkipDecoding()})
  return list(tf.io.decode_image(ex['image'], channels=3).shape[:2])
