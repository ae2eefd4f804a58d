"""JAX's persistent compilation cache for the commands (train, eval, predict,
benchmark): a program compiled once is read back on the next start.

``enable(path)`` turns it on at ``path`` (created if needed); ``''`` leaves
it off. The default folder is ``$LGPN_JAX_COMPILATION_CACHE`` if set, else
``<user cache>/lgpn_jax/xla`` (``$XDG_CACHE_HOME`` or ``~/.cache``). Only
programs that took at least ``MIN_COMPILE_SECONDS`` to compile are stored, so
the many tiny helper programs do not fill it. The cache is keyed by the
program, the JAX/XLA version and the device kind, so a stale entry is never
used for another setting. Imports nothing else of the project.
"""

from __future__ import annotations

import os

ENV = 'LGPN_JAX_COMPILATION_CACHE'
MIN_COMPILE_SECONDS = 1.0


def default_dir() -> str:
  if ENV in os.environ:
    return os.environ[ENV]
  root = os.environ.get('XDG_CACHE_HOME') or os.path.join(
      os.path.expanduser('~'), '.cache')
  return os.path.join(root, 'lgpn_jax', 'xla')


def enable(path: str | None) -> str | None:
  """Turns the cache on at ``path`` ('' or None: off); returns the folder."""
  if not path:
    return None
  import jax
  path = os.path.abspath(os.path.expanduser(path))
  os.makedirs(path, exist_ok=True)
  jax.config.update('jax_compilation_cache_dir', path)
  jax.config.update('jax_persistent_cache_min_compile_time_secs',
                    MIN_COMPILE_SECONDS)
  return path
