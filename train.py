"""Train one fold of LGPN, then evaluate it (lgpn_jax.trainer.train_and_evaluate).

  python train.py --config=configs/quickstart.py --workdir=runs/quickstart
  python train.py --config=configs/default.py --workdir=runs/lgpn \\
      --config.data.manual_dir=/path/to/RED140 --config.fold=2

The fold trains into <workdir>/fold<k>/ (checkpoints, metrics.jsonl,
TensorBoard events, config.json, adjacency.npy; see lgpn_jax/trainer.py) and
resumes from its latest checkpoint when restarted. Any config field can be
overridden with --config.<path>=<value>.

Multi-host: start the same command on every host with --multihost; JAX finds
the cluster by itself on Cloud TPU, SLURM and Open MPI, otherwise give
--coordinator_address=HOST:PORT --num_processes=N --process_id=I (or set
JAX_COORDINATOR_ADDRESS / JAX_NUM_PROCESSES / JAX_PROCESS_ID). Each host
reads its own share of the data and feeds its local devices; the train step
runs over the devices of all hosts as one mesh.
"""

import os
import sys

from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

FLAGS = flags.FLAGS
config_flags.DEFINE_config_file(
    'config', None, 'Config file (configs/*.py); override fields with '
    '--config.<field>=<value>.', lock_config=True)
flags.DEFINE_string('workdir', None,
                    'Directory of the run; fold k trains into <workdir>/fold<k>/.')
flags.DEFINE_bool('multihost', False,
                  'Call jax.distributed.initialize() first (one process per '
                  'host); also on when JAX_COORDINATOR_ADDRESS is set.')
flags.DEFINE_string('coordinator_address', None,
                    'Multi-host: HOST:PORT of process 0 (if not auto-detected).')
flags.DEFINE_integer('num_processes', None, 'Multi-host: number of processes.')
flags.DEFINE_integer('process_id', None, 'Multi-host: index of this process.')
flags.mark_flags_as_required(['config', 'workdir'])


def _initialize_distributed(jax):
  env = os.environ.get
  if not (FLAGS.multihost or FLAGS.coordinator_address
          or env('JAX_COORDINATOR_ADDRESS')):
    return
  num = FLAGS.num_processes or (int(env('JAX_NUM_PROCESSES'))
                                if env('JAX_NUM_PROCESSES') else None)
  pid = FLAGS.process_id
  if pid is None and env('JAX_PROCESS_ID'):
    pid = int(env('JAX_PROCESS_ID'))
  jax.distributed.initialize(
      coordinator_address=FLAGS.coordinator_address
      or env('JAX_COORDINATOR_ADDRESS'),
      num_processes=num, process_id=pid)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {argv[1:]}')
  # TensorFlow (used by input_pipeline only) must never take GPU memory;
  # the input_pipeline modules that import it hide every GPU from it.
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
  if not FLAGS['verbosity'].present:   # orbax logs every save at INFO.
    logging.set_verbosity(logging.WARNING)
  import jax
  _initialize_distributed(jax)
  from lgpn_jax import trainer
  print(f'process {jax.process_index()} of {jax.process_count()}: '
        f'{jax.local_device_count()} local / {jax.device_count()} devices '
        f'({jax.devices()[0].platform})', flush=True)
  trainer.train_and_evaluate(FLAGS.config, FLAGS.workdir)
  return 0


if __name__ == '__main__':
  sys.exit(app.run(main))
