"""The persistent compilation cache: a second process reads the program the
first one compiled (subprocesses: the setting is per process)."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CODE = '''
import jax, jax.numpy as jnp
from lgpn_jax import compile_cache
compile_cache.MIN_COMPILE_SECONDS = 0
print(compile_cache.enable(CACHE))
f = jax.jit(lambda x: jnp.sin(x) @ x + 1.0)
print(float(f(jnp.ones((8, 8)))[0, 0]))
'''


def run(cache):
  return subprocess.run(
      [sys.executable, '-c', CODE.replace('CACHE', repr(cache))], cwd=ROOT,
      capture_output=True, text=True, timeout=120, check=True).stdout.split()


def test_a_second_process_reuses_the_compiled_program(tmp_path):
  cache = str(tmp_path / 'xla')
  first = run(cache)
  entries = sorted(os.listdir(cache))
  assert first[0] == cache and any(e.startswith('jit_') for e in entries)
  stamps = {e: os.path.getmtime(os.path.join(cache, e)) for e in entries}
  assert run(cache) == first                 # same answer...
  assert sorted(os.listdir(cache)) == entries   # ...and nothing new stored.
  assert {e: os.path.getmtime(os.path.join(cache, e))
          for e in entries} == stamps


def test_default_folder_and_off(monkeypatch):
  from lgpn_jax import compile_cache
  monkeypatch.setenv(compile_cache.ENV, '/somewhere/xla')
  assert compile_cache.default_dir() == '/somewhere/xla'
  monkeypatch.delenv(compile_cache.ENV)
  monkeypatch.setenv('XDG_CACHE_HOME', '/c')
  assert compile_cache.default_dir() == '/c/lgpn_jax/xla'
  assert compile_cache.enable('') is None


COMMAND = '''
import sys
import jax, jax.numpy as jnp
from lgpn_jax import cli, compile_cache
compile_cache.MIN_COMPILE_SECONDS = 0
def body(fv):
  print(float(jax.jit(lambda x: jnp.cos(x) @ x)(jnp.ones((4, 4)))[0, 0]))
sys.exit(cli.run(['cmd'] + sys.argv[1:], 'A command.', lambda fv, argv: None,
                 body, compiles=True))
'''


def command(*args, env=None):
  return subprocess.run([sys.executable, '-c', COMMAND, *args], cwd=ROOT,
                        capture_output=True, text=True, timeout=120,
                        env=env, check=True).stdout


def test_commands_that_compile_use_the_cache_flag(tmp_path):
  """--compilation_cache=DIR stores there; '' stores nothing; the default
  comes from the environment variable."""
  assert '--compilation_cache' in command('--help')
  command(f'--compilation_cache={tmp_path / "flag"}')
  assert any(e.startswith('jit_') for e in os.listdir(tmp_path / 'flag'))
  env = dict(os.environ, LGPN_JAX_COMPILATION_CACHE=str(tmp_path / 'env'))
  command(env=env)
  assert any(e.startswith('jit_') for e in os.listdir(tmp_path / 'env'))
  command(f'--compilation_cache={tmp_path / "off"}', '--compilation_cache=',
          env=env)
  assert not os.path.exists(tmp_path / 'off')
