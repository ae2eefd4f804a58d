"""Validation / normalisation of single image files (no TensorFlow)."""

import io

import numpy as np
import pytest
from PIL import Image

from input_pipeline import image_files

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, (12, 10, 3), dtype=np.uint8)


def decoded(data):
  return np.asarray(Image.open(io.BytesIO(data)).convert('RGB'))


def test_plain_png_and_jpeg_keep_their_bytes(encode):
  for data in (encode(Image.fromarray(RGB), 'PNG'),
               encode(Image.fromarray(RGB[..., 0]), 'PNG'),
               encode(Image.fromarray(RGB), 'JPEG', quality=90)):
    out = image_files.load(data)
    assert out.data == data and out.conversion == ''
    assert (out.height, out.width) == (12, 10)


def test_16_bit_png_scaled_to_8_bit(encode):
  wide = (RGB[..., 0].astype(np.uint16) * 257 + 100).astype(np.uint16)
  out = image_files.load(encode(Image.fromarray(wide), 'PNG'))
  assert '->PNG RGB' in out.conversion
  want = np.round(wide / 257).astype(np.uint8)
  np.testing.assert_array_equal(decoded(out.data), np.dstack([want] * 3))


def test_rgba_drops_alpha_and_palette_expands(encode):
  rgba = np.dstack([RGB, RNG.integers(0, 256, (12, 10), dtype=np.uint8)])
  out = image_files.load(encode(Image.fromarray(rgba), 'PNG'))
  assert out.conversion == 'PNG RGBA->PNG RGB'
  np.testing.assert_array_equal(decoded(out.data), RGB)
  pal = Image.fromarray(RGB).convert('P')
  out = image_files.load(encode(pal, 'PNG'))
  assert out.conversion == 'PNG P->PNG RGB'
  np.testing.assert_array_equal(decoded(out.data), np.asarray(pal.convert('RGB')))


def test_other_formats_become_png(encode):
  out = image_files.load(encode(Image.fromarray(RGB), 'BMP'))
  assert out.data.startswith(image_files.PNG_MAGIC)
  np.testing.assert_array_equal(decoded(out.data), RGB)
  cmyk = encode(Image.fromarray(RGB).convert('CMYK'), 'JPEG')
  assert image_files.load(cmyk).data.startswith(image_files.PNG_MAGIC)


@pytest.mark.parametrize('fmt, cut, reason', [
    (None, b'', 'empty file'),
    (None, b'not an image at all' * 5, 'not a recognised image format'),
    ('PNG', 60, 'truncated|broken|Truncated'),
    ('JPEG', 200, 'runcated'),
])
def test_unreadable_files_raise_with_a_reason(fmt, cut, reason, encode):
  data = cut if fmt is None else encode(Image.fromarray(RGB), fmt)[:cut]
  with pytest.raises(image_files.UnreadableImage, match=reason):
    image_files.load(data)
