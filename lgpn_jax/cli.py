"""The one way every command of the project reads its command line (absl).

    def define(fv, argv):            # flags on a private FlagValues
      cli.config_file(fv, argv)      # --config=FILE and --config.a.b=value
      flags.DEFINE_string('workdir', None, '...', flag_values=fv)
    def body(fv) -> int:             # the work; returns the exit status
      ...
    sys.exit(cli.run(sys.argv, __doc__, define, body))

``run`` answers ``--help`` with the command's doc and its flags before
anything heavy is imported, turns a bad flag or an error raised by the body
into an ``error: <message>`` on stderr with exit status 2 and no traceback
(``--verbose`` shows the traceback instead), and keeps library logs quiet
unless ``--verbose``. Flags live on a fresh ``FlagValues`` per call, so tests can
call a command's ``main(argv)`` any number of times in one process.
It records the command line for the provenance of results
(``lgpn_jax/provenance.py``). Commands that compile JAX programs pass
``compiles=True``: they get ``--compilation_cache`` (JAX's persistent cache,
``lgpn_jax/compile_cache.py``; on by default, ``''`` turns it off), so a
program compiled once is read back on the next start.
"""

from __future__ import annotations

import logging as py_logging
import os
import sys
import traceback
from typing import Callable, Sequence

from absl import flags
from absl import logging
from ml_collections import config_flags

from lgpn_jax import compile_cache, provenance

HELP = ('--help', '-h', '--helpfull', '-?')


def usage(doc: str, fv: flags.FlagValues) -> str:
  """The command's doc, then its flags (absl's per-module headings dropped)."""
  lines = [line for line in fv.get_help(include_special_flags=False)
           .splitlines() if line.startswith(' ')]
  return doc.strip() + '\n\nflags:\n' + '\n'.join(lines) + '\n'


# Library messages that carry no information for our commands: every data
# set here is a custom TFDS config, so TFDS's notice about it says nothing.
_NOISE = ('Using custom data configuration',)


class _DropNoise(py_logging.Filter):
  def filter(self, record: py_logging.LogRecord) -> bool:
    return not str(record.msg).startswith(_NOISE)


def quiet(verbose: bool = False) -> None:
  """Library logs at WARNING unless ``verbose``; call before heavy imports.

  * absl and Python logging at WARNING (orbax's and JAX's INFO lines off),
    minus TFDS's "Using custom data configuration" notice;
  * TensorFlow's C++ logs at ERROR (``TF_CPP_MIN_LOG_LEVEL=2``) and its
    oneDNN notice off (``TF_ENABLE_ONEDNN_OPTS=0``): TensorFlow 2.21 prints
    that INFO line before any log level applies, and the only TensorFlow ops
    we run (image decoding, resizing, casts) give bit-identical results
    either way (checked on PNGs resized to 32, 64 and 256);
  * progress bars (TFDS's tqdm) only when stderr is a terminal, so a log
    file gets no carriage-return frames.
  Environment variables already set win.
  """
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '0' if verbose else '2')
  os.environ.setdefault('TF_ENABLE_ONEDNN_OPTS', '0')
  if not sys.stderr.isatty():
    os.environ.setdefault('TQDM_DISABLE', '1')
  level = logging.INFO if verbose else logging.WARNING
  logging.set_verbosity(level)
  py_logging.getLogger().setLevel(py_logging.INFO if verbose
                                  else py_logging.WARNING)
  absl_logger = logging.get_absl_logger()
  if not verbose and not any(isinstance(f, _DropNoise)
                             for f in absl_logger.filters):
    absl_logger.addFilter(_DropNoise())


def config_file(fv: flags.FlagValues, argv: Sequence[str],
                default: str | None = None) -> None:
  """``--config=configs/x.py[:arg]`` plus ``--config.<field>=<value>``
  overrides of any field (the config is locked: unknown fields fail)."""
  config_flags.DEFINE_config_file(
      'config', default, 'Config file (configs/*.py, optionally '
      '"file.py:argument"); override any field with '
      '--config.<field>=<value>.', flag_values=fv, lock_config=True,
      sys_argv=list(argv))


def run(argv: Sequence[str], doc: str,
        define: Callable[[flags.FlagValues, list], None],
        body: Callable[[flags.FlagValues], int | None],
        compiles: bool = False) -> int:
  """Parses ``argv`` (``argv[0]`` is the program) and runs ``body``."""
  argv = list(argv)
  fv = flags.FlagValues()
  flags.DEFINE_bool('verbose', False, 'Show INFO logs and full tracebacks.',
                    flag_values=fv)
  if compiles:
    flags.DEFINE_string(
        'compilation_cache', compile_cache.default_dir(),
        'Folder of the persistent compilation cache (compiled programs are '
        f'read back on the next start; default ${compile_cache.ENV} or '
        "~/.cache/lgpn_jax/xla); '' turns it off.", flag_values=fv)
  define(fv, argv)
  if any(a in HELP for a in argv[1:]):
    print(usage(doc, fv), end='')
    return 0
  try:
    rest = fv(argv)
  except (KeyError, AttributeError) as e:   # a --config.<field> override.
    print(f'error: the config has no field {_message(e)}: check the '
          '--config.<field> overrides', file=sys.stderr)
    return 2
  except Exception as e:  # noqa: BLE001 (flag, config file or value errors)
    print(f'error: {_message(e)} (--help lists the flags)', file=sys.stderr)
    return 2
  problem = _config_problem(fv)
  if problem:
    print(f'error: {problem}', file=sys.stderr)
    return 2
  if len(rest) > 1:
    print(f'error: unexpected arguments {rest[1:]} (--help lists the flags)',
          file=sys.stderr)
    return 2
  verbose = fv['verbose'].value
  quiet(verbose)
  provenance.record_command(argv)
  if compiles:
    compile_cache.enable(fv['compilation_cache'].value)
  try:
    status = body(fv)
  except (KeyboardInterrupt, SystemExit):
    raise
  except Exception as e:  # noqa: BLE001 (one line unless --verbose)
    if verbose:
      traceback.print_exc()
    else:
      print(f'error: {_message(e)}', file=sys.stderr)
    return 2
  return 0 if status is None else int(status)


def _config_problem(fv: flags.FlagValues) -> str | None:
  """Why ``--config`` could not be loaded (ml_collections defers the error
  to the first use of the config), or None."""
  if 'config' not in fv or fv['config'].value is None:
    return None
  value = fv['config'].value
  if type(value).__name__ != '_ErrorConfig':
    return None
  path = config_flags.get_config_filename(fv['config'])
  if not os.path.exists(path.split(':', 1)[0]):
    return f'config file {path} does not exist (run from the repository root)'
  cause = object.__getattribute__(value, '_error')
  lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
  return f'cannot load config file {path}: {lines[-1] if lines else cause}'


def _message(e: BaseException) -> str:
  """An exception's message without the traceback (its type if it has none)."""
  text = str(e).strip()
  if isinstance(e, KeyError) and text[:1] in '\'"' and text[-1:] == text[:1]:
    text = text[1:-1]
  return text or type(e).__name__


def required(fv: flags.FlagValues, *names: str) -> None:
  """ValueError naming the required flags that were not given."""
  missing = [f'--{n}' for n in names if fv[n].value in (None, '')]
  if missing:
    raise ValueError(f'{", ".join(missing)} required (--help lists the flags)')
