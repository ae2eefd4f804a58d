"""Writing result files whole or not at all.

``write_json`` writes to a temporary file beside the target and renames it,
so a reader (or a crash) never sees half a file; NaN / inf become null and
numpy values plain Python (``jsonable``). ``write_text``, ``save_npy`` and
``save_npz`` do the same for text and numpy files. Imports nothing else of the project.
"""

from __future__ import annotations

import json
import math
import os

import numpy as np


def jsonable(obj):
  """JSON-safe: NaN/inf -> None, numpy -> python."""
  if isinstance(obj, dict):
    return {str(k): jsonable(v) for k, v in obj.items()}
  if isinstance(obj, (list, tuple)):
    return [jsonable(v) for v in obj]
  if isinstance(obj, np.ndarray):
    return jsonable(obj.tolist())
  if isinstance(obj, (np.floating, float)):
    f = float(obj)
    return f if math.isfinite(f) else None
  if isinstance(obj, np.integer):
    return int(obj)
  if isinstance(obj, np.bool_):
    return bool(obj)
  return obj


def write_text(text: str, path: str) -> str:
  """Writes ``text`` to ``path`` atomically; returns the path."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  tmp = f'{path}.tmp{os.getpid()}'
  with open(tmp, 'w') as f:
    f.write(text)
  os.replace(tmp, path)
  return path


def write_json(obj, path: str, indent: int = 1) -> str:
  """Writes ``jsonable(obj)`` to ``path`` atomically; returns the path."""
  return write_text(json.dumps(jsonable(obj), indent=indent,
                               allow_nan=False) + '\n', path)


def read_json(path: str):
  with open(path) as f:
    return json.load(f)


def read_jsonl(path: str) -> list:
  """Every row of a JSON-lines file (blank lines skipped)."""
  with open(path) as f:
    return [json.loads(line) for line in f if line.strip()]


def save_npy(path: str, array) -> str:
  """``np.save`` to ``path`` (a .npy name) atomically; returns the path."""
  tmp = f'{path}.tmp{os.getpid()}.npy'
  np.save(tmp, array)
  os.replace(tmp, path)
  return path


def save_npz(path: str, **arrays) -> str:
  """``np.savez`` to ``path`` atomically; returns the path."""
  tmp = f'{path}.tmp{os.getpid()}.npz'
  np.savez(tmp, **arrays)
  os.replace(tmp, path)
  return path
