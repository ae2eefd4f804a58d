"""Multi-host for real: 2 processes x 2 CPU devices (gloo over 127.0.0.1) train
exactly like 1 process x 4 devices on the same global batch.

Both runs use the trainer's compiled step (shard_map over one 4-device mesh),
each process feeding its half of the batch; the 2-process run also writes an
orbax checkpoint from both processes, which restore_for_inference reads back.
"""

import os
import socket
import subprocess
import sys

import jax
import numpy as np
import pytest

from lgpn_jax import checkpoint
HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, 'multihost_worker.py')
TIMEOUT = 420


def free_port() -> int:
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def launch(process_id, num_processes, local_devices, port, out):
  env = dict(os.environ)
  env.pop('JAX_NUM_CPU_DEVICES', None)
  env.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  cmd = [sys.executable, WORKER, f'--process_id={process_id}',
         f'--num_processes={num_processes}', f'--port={port}',
         f'--local_devices={local_devices}', '--steps=3', f'--out={out}']
  return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)


def finish(procs):
  outputs = []
  try:
    for p in procs:
      outputs.append(p.communicate(timeout=TIMEOUT)[0])
  except subprocess.TimeoutExpired:
    for p in procs:
      p.kill()
    pytest.fail('multi-host workers timed out after '
                f'{TIMEOUT} s:\n' + '\n'.join(
                    (p.communicate()[0] or '')[-3000:] for p in procs))
  for p, out in zip(procs, outputs):
    assert p.returncode == 0, (f'worker {p.args[2:4]} failed '
                               f'(exit {p.returncode}):\n{out[-5000:]}')


@pytest.mark.slow
def test_two_processes_train_like_one(tmp_path):
  port = free_port()
  procs = [launch(i, 2, 2, port, tmp_path) for i in range(2)]
  procs.append(launch(0, 1, 4, free_port(), tmp_path))
  finish(procs)

  two = dict(np.load(tmp_path / 'result_N2.npz'))
  one = dict(np.load(tmp_path / 'result_N1.npz'))
  assert sorted(two) == sorted(one)
  np.testing.assert_allclose(two.pop('losses'), one.pop('losses'), rtol=1e-5)
  for name in one:
    np.testing.assert_allclose(two[name], one[name], rtol=1e-4, atol=1e-6,
                               err_msg=name)

  # The checkpoint both processes wrote holds the same parameters.
  variables, step = checkpoint.restore_for_inference(
      str(tmp_path / 'fold_N2'))
  assert step == 3
  flat = jax.tree_util.tree_leaves_with_path(variables['params'])
  for path, value in flat:
    np.testing.assert_array_equal(value, two[jax.tree_util.keystr(path)])
