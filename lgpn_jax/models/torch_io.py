"""PyTorch checkpoint files -> numpy state_dicts, and the orbax files weight
import writes. torch is optional and imported only to read a ``.pth``.

  state_dict = load_pth(path, trust_pickle=False)   # {key: numpy array}
  unwrap_state_dict(loaded_object)                  # the state_dict inside
  save_variables(variables, out_dir) / load_variables(out_dir)

``trust_pickle=False`` loads with ``weights_only=True``, which refuses
arbitrary Python objects. The authors' checkpoints also pickle their LR
scheduler, so they need ``trust_pickle=True`` (unpickling can run code: only
for trusted files).
"""

from __future__ import annotations

import os
from typing import Any, Mapping

import numpy as np

# Where a checkpoint file may keep the state_dict (the authors' Saver uses
# 'model_state_dict').
WRAPPER_KEYS = ('model_state_dict', 'state_dict', 'model', 'net', 'network',
                'module', 'weights')


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
