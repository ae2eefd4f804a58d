"""Fixtures of the data-layer tests: PNG files Pillow cannot write (16-bit
colour) or should not have to hold in memory (a decompression bomb)."""

import struct
import zlib

import numpy as np
import pytest


def _chunk(kind: bytes, data: bytes) -> bytes:
  return (struct.pack('>I', len(data)) + kind + data
          + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff))


def _png(width, height, depth, colour, rows) -> bytes:
  """A PNG from an iterable of raw rows (filter 0), compressed as it goes."""
  z = zlib.compressobj(6)
  body = b''.join(z.compress(b'\x00' + row) for row in rows) + z.flush()
  header = struct.pack('>IIBBBBB', width, height, depth, colour, 0, 0, 0)
  return (b'\x89PNG\r\n\x1a\n' + _chunk(b'IHDR', header)
          + _chunk(b'IDAT', body) + _chunk(b'IEND', b''))


def _raw_png(pixels: np.ndarray) -> bytes:
  """[H, W] (grey) or [H, W, 3] (RGB) uint8 / uint16 array -> PNG bytes."""
  depth = {np.dtype(np.uint8): 8, np.dtype(np.uint16): 16}[pixels.dtype]
  big = pixels.astype(pixels.dtype.newbyteorder('>'))
  return _png(pixels.shape[1], pixels.shape[0], depth,
              2 if pixels.ndim == 3 else 0, (row.tobytes() for row in big))


def _bomb_png(width: int, height: int) -> bytes:
  """A black 8-bit grey PNG of width x height, made without holding it."""
  row = bytes(width)
  return _png(width, height, 8, 0, (row for _ in range(height)))


@pytest.fixture(scope='session')
def raw_png():
  """raw_png(uint8/uint16 [H, W] or [H, W, 3] array) -> PNG bytes."""
  return _raw_png


@pytest.fixture(scope='session')
def bomb_png():
  """A 12000 x 12000 (144-megapixel) PNG of ~140 kB."""
  return _bomb_png(12000, 12000)
