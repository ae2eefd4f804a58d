"""Validation / normalisation of single image files (no TensorFlow)."""

import concurrent.futures
import io
import os
import threading

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


def test_16_bit_values_keep_their_high_byte_in_grey_and_colour(raw_png):
  """Every 16-bit value v -> v >> 8, for grey and for RGB PNGs alike (the
  documented conversion; round(v / 257) differs for 16,256 of the values)."""
  v = np.arange(65536, dtype=np.uint16).reshape(256, 256)
  grey = image_files.load(raw_png(v))
  assert grey.conversion == 'PNG I;16->PNG RGB'
  np.testing.assert_array_equal(decoded(grey.data),
                                np.dstack([(v >> 8).astype(np.uint8)] * 3))
  colour = np.dstack([v, v[::-1], v.T])
  out = image_files.load(raw_png(colour))
  assert out.conversion == 'PNG RGB 16-bit->PNG RGB'
  np.testing.assert_array_equal(decoded(out.data),
                                (colour >> 8).astype(np.uint8))


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


def test_pixel_limit_is_read_from_the_header(bomb_png, monkeypatch, encode):
  """A 144-megapixel PNG is refused before decoding, whatever Pillow's global
  limit and the warning filters say (other code may change both)."""
  monkeypatch.setattr(Image, 'MAX_IMAGE_PIXELS', None)
  with pytest.raises(image_files.UnreadableImage,
                     match='decompression bomb: 12000x12000'):
    image_files.load(bomb_png)
  monkeypatch.setattr(Image, 'MAX_IMAGE_PIXELS', 1000)   # Pillow refuses
  with pytest.raises(image_files.UnreadableImage,      # over twice its limit.
                     match='decompression bomb: Image size'):
    image_files.load(encode(Image.fromarray(np.zeros((50, 50), np.uint8)),
                            'PNG'))


def test_pixel_limit_is_the_same_on_any_number_of_threads(monkeypatch, encode):
  monkeypatch.setattr(image_files, 'MAX_PIXELS', 1000)
  bomb = encode(Image.fromarray(np.zeros((40, 40, 3), np.uint8)), 'PNG')
  good = encode(Image.fromarray(RGB), 'PNG')
  items = [bomb, good] * 200

  def outcome(data):
    try:
      image_files.load(data)
      return 'kept'
    except image_files.UnreadableImage as e:
      return str(e)

  for workers in (1, 4):
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
      got = list(pool.map(outcome, items))
    assert got[1::2] == ['kept'] * 200
    assert all(g.startswith('decompression bomb: 40x40') for g in got[::2])


def test_read_file_reads_regular_files_only_up_to_a_size(tmp_path):
  path = tmp_path / 'a.png'
  path.write_bytes(b'x' * 100)
  assert image_files.read_file(str(path), 100) == b'x' * 100
  with pytest.raises(image_files.UnreadableImage,
                     match='101 bytes: over the 100-byte file size limit'):
    path.write_bytes(b'x' * 101)
    image_files.read_file(str(path), 100)
  os.symlink(path, tmp_path / 'link.png')
  with pytest.raises(image_files.UnreadableImage, match='cannot open'):
    image_files.read_file(str(tmp_path / 'link.png'), 1000)
  fifo = tmp_path / 'pipe.png'
  os.mkfifo(fifo)
  result = []
  reader = threading.Thread(target=lambda: result.append(
      pytest.raises(image_files.UnreadableImage, image_files.read_file,
                    str(fifo), 1000)), daemon=True)
  reader.start()
  reader.join(10)
  assert not reader.is_alive(), 'reading a FIFO blocked'
  assert 'not a regular file (FIFO)' in str(result[0].value)
