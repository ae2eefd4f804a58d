"""Weight files -> numpy state_dicts, and the orbax files weight import writes.

  state_dict = read_state_dict(path)                # .safetensors/.pth/.pt
  state_dict = load_pth(path, trust_pickle=False)   # {key: numpy array}
  unwrap_state_dict(loaded_object)                  # the state_dict inside
  save_variables(variables, out_dir) / load_variables(out_dir)

``.safetensors`` is parsed here with numpy (8-byte little-endian header
length, JSON header of dtype / shape / data_offsets, raw little-endian
bytes), so neither torch nor any new package is needed and no pickle is run.
Arrays keep their stored dtype, except BF16, which numpy lacks: it becomes
float32 exactly (its 16 bits are the high half of a float32). ``.pth`` /
``.pt`` need PyTorch (optional); without it, convert the file where torch is
installed:
    import torch, safetensors.torch as st
    sd = torch.load('resnet50.pth', map_location='cpu', weights_only=True)
    st.save_file({k: v.contiguous() for k, v in sd.items()}, 'r50.safetensors')

``trust_pickle=False`` loads with ``weights_only=True``, which refuses
arbitrary Python objects. The authors' checkpoints also pickle their LR
scheduler, so they need ``trust_pickle=True`` (unpickling can run code: only
for trusted files).
"""

from __future__ import annotations

import importlib.util
import json
import os
from typing import Any, Mapping

import numpy as np

# Where a checkpoint file may keep the state_dict (the authors' Saver uses
# 'model_state_dict').
WRAPPER_KEYS = ('model_state_dict', 'state_dict', 'model', 'net', 'network',
                'module', 'weights')


TORCH_MISSING = (
    'reading {path} needs PyTorch, which is not installed: pip install torch '
    '(the CPU build is enough), or convert it to .safetensors where torch and '
    'safetensors are installed: python -c "import torch, safetensors.torch as '
    "st; sd = torch.load('{name}', map_location='cpu', weights_only=True); "
    "st.save_file({{k: v.contiguous() for k, v in sd.items()}}, "
    "'{stem}.safetensors')\"")
# safetensors dtype -> numpy dtype (little-endian). BF16 is decoded apart.
SAFETENSORS_DTYPES = {'F64': '<f8', 'F32': '<f4', 'F16': '<f2', 'I64': '<i8',
                      'I32': '<i4', 'I16': '<i2', 'I8': 'i1', 'U8': 'u1',
                      'BOOL': '?', 'BF16': '<u2'}


class WeightFileError(ValueError):
  """A weight file that cannot be read (the message says why and what to do)."""


def to_numpy(value: Any) -> np.ndarray:
  """A torch tensor (any device / dtype), jax or numpy array -> numpy."""
  if hasattr(value, 'detach'):
    value = value.detach().cpu()
    if str(value.dtype) == 'torch.bfloat16':   # numpy has no bfloat16
      value = value.float()
    return value.numpy()
  return np.asarray(value)


def _is_array(value: Any) -> bool:
  return hasattr(value, 'shape') and (hasattr(value, 'detach')
                                      or hasattr(value, '__array__'))


def unwrap_state_dict(obj: Any, depth: int = 0) -> dict[str, Any]:
  """The state_dict inside a loaded checkpoint object (a module, a mapping of
  arrays, or a dict holding one under a key of ``WRAPPER_KEYS``)."""
  if (not isinstance(obj, Mapping)
      and callable(getattr(obj, 'state_dict', None))):
    obj = obj.state_dict()
  if isinstance(obj, Mapping):
    if obj and all(_is_array(v) for v in obj.values()):
      return dict(obj)
    for key in WRAPPER_KEYS:
      if key in obj and depth < 3:
        return unwrap_state_dict(obj[key], depth + 1)
    keys = ', '.join(map(repr, list(obj)[:20])) or 'none'
    raise WeightFileError(
        f'no state_dict found: top-level keys are {keys}; expected a mapping '
        f'of tensors, or one under a key in {WRAPPER_KEYS}')
  raise WeightFileError(f'no state_dict found in a {type(obj).__name__}')


def _torch_load_reason(error: Exception, trust_pickle: bool) -> str:
  """torch.load's (long) message cut to its cause, plus what to do."""
  lines = [l.strip() for l in str(error).splitlines() if l.strip()]
  cause = next((l for l in lines if 'Unsupported global' in l),
               lines[0] if lines else '')
  refused = 'weights_only' in str(error) or 'Unsupported global' in cause
  if trust_pickle or not refused:
    return f'{type(error).__name__}: {cause}'
  return (f'it holds Python objects besides tensors, which weights_only '
          f'loading refuses ({cause}). The authors\' checkpoints pickle their '
          f'LR scheduler; if you trust the file, pass trust_pickle=True '
          f'(command line: --trust_pickle).')


def load_pth(path: str | os.PathLike, *, trust_pickle: bool = False
             ) -> dict[str, np.ndarray]:
  """Read a PyTorch checkpoint on the CPU -> {key: numpy array}."""
  if not os.path.isfile(path):
    raise WeightFileError(f'no such checkpoint file: {path}')
  try:
    import torch
  except ImportError as e:
    raise WeightFileError(
        'reading a .pth file needs PyTorch, which is not installed '
        '(pip install torch; the CPU build is enough). Alternatively load the '
        'state_dict elsewhere and pass numpy arrays to convert_state_dict.'
    ) from e
  try:
    obj = torch.load(path, map_location='cpu', weights_only=not trust_pickle)
  except Exception as e:  # torch raises several types for a refused pickle.
    raise WeightFileError(f'torch could not read {path}: '
                          f'{_torch_load_reason(e, trust_pickle)}') from e
  return {k: to_numpy(v) for k, v in unwrap_state_dict(obj).items()}


def save_variables(variables: Mapping, out_dir: str | os.PathLike, *,
                   overwrite: bool = False) -> str:
  """Write variables as an orbax StandardCheckpointer directory; its path."""
  import orbax.checkpoint as ocp

  out = os.path.abspath(out_dir)
  if os.path.exists(out) and not overwrite:
    raise WeightFileError(f'{out} exists (pass overwrite=True / --overwrite)')
  checkpointer = ocp.StandardCheckpointer()
  checkpointer.save(out, dict(variables), force=overwrite)
  checkpointer.wait_until_finished()
  checkpointer.close()
  return out


def load_variables(path: str | os.PathLike) -> dict:
  """Read back what ``save_variables`` (or convert.py) wrote."""
  import orbax.checkpoint as ocp

  checkpointer = ocp.StandardCheckpointer()
  try:
    return dict(checkpointer.restore(os.path.abspath(path)))
  finally:
    checkpointer.close()


def read_state_dict(path: str | os.PathLike, *, trust_pickle: bool = False
                    ) -> dict[str, np.ndarray]:
  """A ``.safetensors`` / ``.pth`` / ``.pt`` weights file -> {key: array}."""
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise WeightFileError(f'no such weights file: {path}')
  ext = os.path.splitext(path)[1].lower()
  if ext == '.safetensors':
    return read_safetensors(path)
  if ext in ('.pth', '.pt'):
    if importlib.util.find_spec('torch') is None:
      base = os.path.basename(path)
      raise WeightFileError(TORCH_MISSING.format(
          path=path, name=base, stem=os.path.splitext(base)[0]))
    return load_pth(path, trust_pickle=trust_pickle)
  raise WeightFileError(f'{path}: unknown weights format {ext!r} (expected '
                        '.safetensors, .pth or .pt)')


def read_safetensors(path: str | os.PathLike) -> dict[str, np.ndarray]:
  """Parse a .safetensors file with numpy; one-line errors for a bad file."""
  def bad(why: str) -> WeightFileError:
    return WeightFileError(f'{path} is not a readable .safetensors file: {why}')

  with open(path, 'rb') as f:
    data = bytearray(os.fstat(f.fileno()).st_size)
    f.readinto(data)   # a bytearray: the arrays below are writable views.
  if len(data) < 8:
    raise bad(f'{len(data)} bytes, no 8-byte header length (truncated)')
  size = int.from_bytes(data[:8], 'little')
  if 8 + size > len(data):
    raise bad(f'the header length says {size} bytes but only {len(data) - 8} '
              'follow (truncated, or not a .safetensors file)')
  try:
    header = json.loads(bytes(data[8:8 + size]).decode('utf-8'))
  except (UnicodeDecodeError, ValueError) as e:
    raise bad(f'the header is not JSON ({e})') from None
  if not isinstance(header, dict):
    raise bad('the header is not a JSON object')
  body = memoryview(data)[8 + size:]
  out = {}
  for name, info in header.items():
    if name == '__metadata__':
      continue
    try:
      code, begin, end = info['dtype'], *map(int, info['data_offsets'])
      shape = tuple(int(d) for d in info['shape'])
    except (KeyError, TypeError, ValueError):
      raise bad(f'malformed header entry for {name!r}: {info!r}') from None
    if code not in SAFETENSORS_DTYPES:
      raise bad(f'tensor {name!r} has dtype {code}, not one of '
                f'{", ".join(SAFETENSORS_DTYPES)}')
    dtype = np.dtype(SAFETENSORS_DTYPES[code])
    count = int(np.prod(shape, dtype=np.int64))
    if end > len(body):
      raise bad(f'tensor {name!r} ends at byte {end} of a {len(body)}-byte '
                'data section (truncated)')
    if not 0 <= begin <= end or end - begin != count * dtype.itemsize:
      raise bad(f'tensor {name!r}: data_offsets [{begin}, {end}] do not hold '
                f'{code} {list(shape)}')
    array = np.frombuffer(body, dtype, count, begin).reshape(shape)
    if code == 'BF16':   # bf16 bits are the high half of the float32's.
      array = (array.astype('<u4') << 16).view('<f4')
    out[name] = array
  return out
