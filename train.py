r"""Train one fold, then evaluate it (lgpn_jax/run.py: train_and_evaluate).

usage: python train.py --config=configs/quickstart.py --workdir=runs/quickstart
       python train.py --config=configs/default.py --workdir=runs/lgpn \
           --config.data.manual_dir=/path/to/RED140 --config.fold=2

The fold trains into <workdir>/fold<k>/ (checkpoints, metrics.jsonl,
TensorBoard events, config.json, adjacency.npy; layout in
lgpn_jax/rundir.py) and resumes from its latest checkpoint when restarted.
It ends with the evaluation's table (the model against the majority-label
baseline) and the commands to go on with (predict, tensorboard, plots).
--dry_run prints the config, parameters and FLOPs per module, the data
splits and the per-device batch, and exits without training.
Any config field can be overridden with --config.<path>=<value>.

Multi-host: start the same command on every host with --multihost; JAX finds
the cluster by itself on Cloud TPU, SLURM and Open MPI, otherwise give
--coordinator_address=HOST:PORT --num_processes=N --process_id=I (or set
JAX_COORDINATOR_ADDRESS / JAX_NUM_PROCESSES / JAX_PROCESS_ID). Each host
reads its own share of the data and feeds its local devices; the train step
runs over the devices of all hosts as one mesh.
"""

import os
import sys

from absl import flags

from lgpn_jax import cli


def define(fv, argv):
  cli.config_file(fv, argv)
  flags.DEFINE_string('workdir', None, 'Directory of the run; fold k trains '
                      'into <workdir>/fold<k>/.', flag_values=fv)
  flags.DEFINE_bool('multihost', False, 'Call jax.distributed.initialize() '
                    'first (one process per host); also on when '
                    'JAX_COORDINATOR_ADDRESS is set.', flag_values=fv)
  flags.DEFINE_string('coordinator_address', None, 'Multi-host: HOST:PORT of '
                      'process 0 (if not auto-detected).', flag_values=fv)
  flags.DEFINE_integer('num_processes', None, 'Multi-host: number of '
                       'processes.', flag_values=fv)
  flags.DEFINE_integer('process_id', None, 'Multi-host: index of this '
                       'process.', flag_values=fv)
  flags.DEFINE_bool('dry_run', False, 'Print the config, parameters and '
                    'FLOPs per module, the data splits and the batch per '
                    'device, then exit without training.', flag_values=fv)


def initialize_distributed(fv) -> None:
  """jax.distributed.initialize() when multi-host is asked for."""
  import jax
  env = os.environ.get
  if not (fv.multihost or fv.coordinator_address
          or env('JAX_COORDINATOR_ADDRESS')):
    return
  num = fv.num_processes or (int(env('JAX_NUM_PROCESSES'))
                             if env('JAX_NUM_PROCESSES') else None)
  pid = fv.process_id
  if pid is None and env('JAX_PROCESS_ID'):
    pid = int(env('JAX_PROCESS_ID'))
  jax.distributed.initialize(
      coordinator_address=fv.coordinator_address
      or env('JAX_COORDINATOR_ADDRESS'),
      num_processes=num, process_id=pid)


def body(fv):
  cli.required(fv, 'config', 'workdir')
  import jax
  initialize_distributed(fv)
  from lgpn_jax import run
  print(f'process {jax.process_index()} of {jax.process_count()}: '
        f'{jax.local_device_count()} local / {jax.device_count()} devices '
        f'({jax.devices()[0].platform})', flush=True)
  if fv.dry_run:
    print(run.dry_run(fv.config, fv.workdir))
    return 0
  run.train_and_evaluate(fv.config, fv.workdir)
  return 0


def main(argv=None) -> int:
  return cli.run([sys.argv[0]] + list(sys.argv[1:] if argv is None else argv),
                 __doc__, define, body, compiles=True)


if __name__ == '__main__':
  sys.exit(main())
