"""Reading one image file for a build: validate it, normalise it if needed.

Policy (documented in docs/DATA.md):
  * ``read_file`` reads regular files only (a FIFO or device file would block
    or never end), without following a symbolic link, and at most
    ``max_bytes`` (a larger file is refused before it is read);
  * the pixel count is checked from the image header, before anything is
    decoded: more than ``MAX_PIXELS`` (Pillow's own default limit, 89.5
    megapixels) is refused as a decompression bomb. The check reads no global
    state (Pillow's warning filters are process-wide and not thread-safe), so
    it is the same with any number of threads;
  * every other file is fully decoded with Pillow; one that cannot be (garbage,
    truncated, empty, unknown format) raises ``UnreadableImage`` with the
    reason, and the builder skips, counts and lists it;
  * 8-bit PNG (grey or RGB, no palette, no alpha) and JPEG (grey or RGB) keep
    their original bytes, untouched: the generation traces are not re-encoded;
  * anything else (16-bit PNG, RGBA / grey+alpha, palette, CMYK JPEG, GIF, BMP,
    TIFF, WebP, ...) is converted to 8-bit RGB and re-encoded as lossless PNG:
    16-bit values keep their high byte (``v >> 8``, what Pillow does for 16-bit
    RGB and TensorFlow's and libpng's 8-bit decoding of any 16-bit PNG do, so
    grey and colour agree; 32-bit integer images are clipped to 0..65535
    first), alpha is dropped (not composited, as
    ``tf.io.decode_image(channels=3)`` would also do), palette images are
    expanded, animations keep their first frame.
The pipeline decodes with ``tf.io.decode_image(channels=3)``, which reads every
kept and converted file as 8-bit RGB (grey is replicated to three channels),
and scales it with ``to_model_range``.
"""

from __future__ import annotations

import dataclasses
import io
import os
import stat

import numpy as np
from PIL import Image

PNG_MAGIC = b'\x89PNG\r\n\x1a\n'
JPEG_MAGIC = b'\xff\xd8\xff'
MAX_PIXELS = 89_478_485   # Pillow's default MAX_IMAGE_PIXELS, fixed here.
# Opening flags: never block (a FIFO with no writer), never follow a link.
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, 'O_NONBLOCK', 0)
               | getattr(os, 'O_NOFOLLOW', 0))


def to_model_range(pixels):
  """8-bit pixel values as floats (numpy or TensorFlow) -> the model's input
  range [-1, 1]: ``(x / 255 - 0.5) / 0.5``, the authors' normalisation."""
  return (pixels / 255.0 - 0.5) / 0.5


class UnreadableImage(ValueError):
  """A file that is not a decodable image (the message says why)."""


@dataclasses.dataclass(frozen=True)
class ImageBytes:
  data: bytes        # PNG or JPEG bytes the pipeline can decode to 8-bit RGB.
  height: int
  width: int
  conversion: str    # '' when kept as is, else what was done ('RGBA->RGB', ...).


def file_kind(mode: int) -> str:
  """What a ``stat`` mode is, in words ('' for a regular file)."""
  if stat.S_ISREG(mode):
    return ''
  if stat.S_ISLNK(mode):
    return 'symbolic link'
  if stat.S_ISDIR(mode):
    return 'directory'
  if stat.S_ISFIFO(mode):
    return 'FIFO'
  if stat.S_ISSOCK(mode):
    return 'socket'
  if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
    return 'device file'
  return 'special file'


def read_file(path: str, max_bytes: int) -> bytes:
  """The bytes of a regular file of at most ``max_bytes``, else
  ``UnreadableImage``; never blocks and never follows a symbolic link."""
  try:
    fd = os.open(path, _OPEN_FLAGS)
  except OSError as e:
    raise UnreadableImage(f'cannot open: {e.strerror or e}') from None
  with os.fdopen(fd, 'rb') as f:
    st = os.fstat(fd)
    kind = file_kind(st.st_mode)
    if kind:
      raise UnreadableImage(f'not a regular file ({kind})')
    if st.st_size > max_bytes:
      raise UnreadableImage(f'{st.st_size} bytes: over the {max_bytes}-byte '
                            'file size limit (--max_file_mb)')
    try:
      data = f.read(max_bytes + 1)
    except OSError as e:
      raise UnreadableImage(f'cannot read: {e.strerror or e}') from None
  if len(data) > max_bytes:
    raise UnreadableImage(f'grew over the {max_bytes}-byte file size limit '
                          'while read')
  return data


def _png_is_plain(data: bytes) -> bool:
  """True for an 8-bit grey or RGB PNG (IHDR bit depth 8, colour type 0 or 2)."""
  if len(data) < 26 or data[12:16] != b'IHDR':
    return False
  return data[24] == 8 and data[25] in (0, 2)


def to_rgb8(img: Image.Image) -> np.ndarray:
  """Any Pillow image -> [H, W, 3] uint8 (16-bit: v >> 8, alpha dropped)."""
  if img.mode in ('I;16', 'I;16B', 'I;16L', 'I;16N', 'I'):
    wide = np.clip(np.asarray(img).astype(np.int64), 0, 65535)
    grey = (wide >> 8).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1)
  if img.mode == 'F':
    raise UnreadableImage('floating-point image (mode F): no defined 8-bit scale')
  if img.mode in ('RGBA', 'LA', 'PA', 'RGBa', 'La'):
    img = img.convert('RGBA') if img.mode != 'LA' else img.convert('LA')
    arr = np.asarray(img)[..., :-1]
    if arr.shape[-1] == 1:
      arr = np.repeat(arr, 3, axis=-1)
    return np.ascontiguousarray(arr)
  return np.asarray(img.convert('RGB'))


def encode_png(rgb: np.ndarray) -> bytes:
  """Deterministic lossless PNG bytes of an [H, W, 3] uint8 array."""
  if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[-1] != 3:
    raise ValueError(f'expected [H, W, 3] uint8, got {rgb.shape} {rgb.dtype}')
  buf = io.BytesIO()
  Image.fromarray(rgb, 'RGB').save(buf, format='PNG', compress_level=6)
  return buf.getvalue()


def load(data: bytes) -> ImageBytes:
  """Validates one file's bytes; returns bytes the pipeline can always decode."""
  if not data:
    raise UnreadableImage('empty file')
  try:
    img = Image.open(io.BytesIO(data))   # reads the header only.
    width, height = img.size
    if width * height > MAX_PIXELS:
      raise UnreadableImage(
          f'decompression bomb: {width}x{height} = {width * height} pixels, '
          f'over the limit of {MAX_PIXELS} (not decoded)')
    img.load()
  except UnreadableImage:
    raise
  except Image.UnidentifiedImageError:
    raise UnreadableImage('not a recognised image format') from None
  except Image.DecompressionBombError as e:   # Pillow's own, lower limit.
    raise UnreadableImage(f'decompression bomb: {e}') from None
  except Exception as e:  # Pillow raises many types; all mean "unreadable".
    raise UnreadableImage(f'{type(e).__name__}: {e}') from None
  if width < 1 or height < 1:
    raise UnreadableImage(f'empty image ({width}x{height})')
  fmt = img.format or '?'
  if fmt == 'PNG' and data.startswith(PNG_MAGIC) and _png_is_plain(data):
    return ImageBytes(data, height, width, '')
  if (fmt == 'JPEG' and data.startswith(JPEG_MAGIC)
      and img.mode in ('RGB', 'L')):
    return ImageBytes(data, height, width, '')
  mode = img.mode
  if fmt == 'PNG' and mode in ('RGB', 'L'):
    mode = f'{mode} 16-bit'
  try:
    rgb = to_rgb8(img)
  except UnreadableImage:
    raise
  except Exception as e:
    raise UnreadableImage(f'cannot convert {fmt} {img.mode}: '
                          f'{type(e).__name__}: {e}') from None
  return ImageBytes(encode_png(rgb), height, width, f'{fmt} {mode}->PNG RGB')
