"""The data layer's one resize (build-time ``--store_size`` and read time)."""

import io

import numpy as np
import pytest
from PIL import Image

from input_pipeline import resize
from input_pipeline.tf_runtime import tf

RNG = np.random.default_rng(3)


@pytest.mark.parametrize('h, w, size', [(64, 64, 32), (37, 53, 16),
                                        (20, 24, 48)])
def test_to_square_is_pils_bilinear_within_one_level(h, w, size):
  """PIL's BILINEAR (the authors' resize) widens its filter when shrinking,
  as ``antialias=True`` does; PIL's fixed-point rounding between its two
  passes leaves differences of one level at most."""
  img = RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)
  ours = resize.to_square(img, size).numpy().astype(int)
  pil = np.asarray(Image.fromarray(img).resize((size, size), Image.BILINEAR))
  diff = np.abs(ours - pil)
  assert ours.shape == (size, size, 3) and diff.max() <= 1
  assert diff.mean() < 0.3
  if size < h:   # without antialiasing, shrinking noise is far from PIL.
    plain = tf.image.resize(img.astype(np.float32), [size, size]).numpy()
    assert np.abs(plain - pil).max() > 20


def test_same_size_is_untouched_and_other_shapes_are_stretched():
  img = RNG.integers(0, 256, (16, 16, 3), dtype=np.uint8)
  np.testing.assert_array_equal(resize.to_square(img, 16).numpy(), img)
  ramp = np.broadcast_to(np.arange(0, 256, 8, dtype=np.uint8)[None, :, None],
                         (4, 32, 3))
  out = resize.to_square(ramp, 16).numpy()
  assert out.shape == (16, 16, 3)
  np.testing.assert_array_equal(out, np.broadcast_to(out[:1], out.shape))
  # Halving: output j is centred on input 2j + 0.5 with triangle weights
  # 1/8, 3/8, 3/8, 1/8 on inputs 2j-1 .. 2j+2 (value 8x): 16j + 4 inside;
  # at the edges the three inputs left are renormalised: (0*3 + 8*3 + 16)/7
  # = 5.7 -> 6 and (232 + 240*3 + 248*3)/7 = 242.3 -> 242.
  np.testing.assert_array_equal(out[0, :, 0],
                                [6] + list(range(20, 228 + 1, 16)) + [242])


def test_encoded_at_stores_the_decoded_and_resized_pixels(encode):
  jpeg = encode(Image.fromarray(RNG.integers(0, 256, (30, 20, 3),
                                             dtype=np.uint8)), 'JPEG')
  png = resize.encoded_at(jpeg, 16)
  assert png.startswith(b'\x89PNG')
  want = resize.to_square(tf.io.decode_jpeg(jpeg, channels=3), 16).numpy()
  np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png))), want)
