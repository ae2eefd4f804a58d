"""The one resize of the data layer, shared by the build and the read path.

``to_square(img, size)``: an [H, W, 3] uint8 image -> [size, size, 3] uint8,
bilinear with antialiasing (``tf.image.resize(..., antialias=True)``, like the
PIL-based resizing of the authors' code), rounded to the nearest 8-bit value
(as PIL's resize of an 8-bit image is), untouched when it already has the
size. Non-square images are stretched to a square, as in the paper.

``encoded_at(data, size)``: what ``python -m input_pipeline.build
--store_size=S`` stores: the encoded image decoded exactly as the read path
decodes it (``tf.io.decode_image(channels=3)``), resized by ``to_square`` and
stored as lossless PNG, so decoding the stored image gives the same pixels as
decoding and resizing the original at read time.
"""

from __future__ import annotations

import numpy as np

from input_pipeline import image_files
from input_pipeline.tf_runtime import tf


def to_square(img: tf.Tensor, size: int) -> tf.Tensor:
  """[H, W, 3] uint8 -> [size, size, 3] uint8 (eager or inside tf.data)."""
  img = tf.convert_to_tensor(img, tf.uint8)
  shape = tf.shape(img)
  same = tf.logical_and(shape[0] == size, shape[1] == size)

  def resized():
    x = tf.image.resize(tf.cast(img, tf.float32), [size, size],
                        method='bilinear', antialias=True)
    return tf.cast(tf.clip_by_value(tf.round(x), 0.0, 255.0), tf.uint8)

  return tf.cond(same, lambda: img, resized)


def decode(data) -> tf.Tensor:
  """Encoded PNG/JPEG bytes -> [H, W, 3] uint8, as the read path decodes."""
  return tf.io.decode_image(data, channels=3, expand_animations=False)


def encoded_at(data: bytes, size: int) -> bytes:
  """Encoded image bytes -> PNG bytes of the image resized to size x size."""
  return image_files.encode_png(np.asarray(to_square(decode(data), size)))
