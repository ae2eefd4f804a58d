"""One process of the multi-host test (tests/train/test_multihost.py).

  python tests/multihost_worker.py --process_id=I --num_processes=N \\
      --port=P --local_devices=D --steps=K --out=DIR

Forms a mesh of N x D CPU devices (gloo collectives over 127.0.0.1 when
N > 1), feeds this process's half of a fixed global batch through
``jax.make_array_from_process_local_data`` (via DataParallel.put_batch),
runs K steps of the trainer's train step (DataParallel over the per-device
step, shard_map; SGD) on the tiny model with the stacked-GCN head (dropout),
checkpoints the result with lgpn_jax.checkpoint (every process takes part;
only when N > 1: the test reads that checkpoint back, not the 1-process one),
and process 0 writes the final parameters and losses to
DIR/result_N{N}.npz.
"""

import argparse
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
GLOBAL_BATCH = 8


def parse():
  p = argparse.ArgumentParser(description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument('--process_id', type=int, required=True)
  p.add_argument('--num_processes', type=int, required=True)
  p.add_argument('--port', type=int, required=True)
  p.add_argument('--local_devices', type=int, required=True)
  p.add_argument('--steps', type=int, default=3)
  p.add_argument('--out', required=True)
  return p.parse_args()


def main():
  args = parse()
  sys.path.insert(0, REPO)
  import jax
  jax.config.update('jax_platforms', 'cpu')
  jax.config.update('jax_num_cpu_devices', args.local_devices)
  if args.num_processes > 1:
    jax.config.update('jax_cpu_collectives_implementation', 'gloo')
    jax.distributed.initialize(
        coordinator_address=f'127.0.0.1:{args.port}',
        num_processes=args.num_processes, process_id=args.process_id,
        initialization_timeout=120)
  import numpy as np

  import optax

  from configs import tiny
  from lgpn_jax import checkpoint, mesh as mesh_lib, tasks
  from lgpn_jax.models.build import build_model
  from lgpn_jax.red140 import graphs
  from lgpn_jax.train import parallel, state as train_state, step as train_step
  from lgpn_jax.train import trainer

  assert jax.device_count() == args.num_processes * args.local_devices
  config = tiny.get_config()
  # The stacked-GCN head (dropout, no pooling): what crosses devices is all
  # in the step (psum) and the backbone (synchronised BatchNorm), and this
  # head compiles in three quarters of the pooling head's time.
  config.model.head = 'stacked_gcn'
  mesh = mesh_lib.make_mesh()
  adjacency = graphs.fold_correlation_graph(1, config.graph.tau)
  # SGD, not the config's Adam: Adam's first steps are ~lr * sign(g), which
  # turns float noise on near-zero gradients into lr-sized differences.
  schedule = optax.constant_schedule(0.05)
  tx = optax.sgd(schedule)
  model = build_model(trainer.training_model_config(config))
  task = tasks.get(config)
  step = train_step.make_step(model, tx, schedule, adjacency, task.loss_terms,
                              task.loss_weights, task.accuracy_terms)
  runner = parallel.DataParallel(step, mesh, 'shard_map')
  state = train_state.create(model, tx, config.data.image_size, adjacency,
                             mesh, seed=0)

  rng = np.random.default_rng(0)
  is_gen = np.array([1, 0, 1, 1, 1, 0, 1, 1], np.int32)
  batch = dict(
      image=rng.uniform(-1, 1, (GLOBAL_BATCH, 32, 32, 3)).astype(np.float32),
      label=(rng.random((GLOBAL_BATCH, 55)) < 0.3).astype(np.float32)
      * is_gen[:, None],
      is_generated=is_gen)
  share = GLOBAL_BATCH // args.num_processes
  mine = slice(args.process_id * share, (args.process_id + 1) * share)
  local = {k: v[mine] for k, v in batch.items()}

  key = runner.put_rng(jax.random.key(0))
  state = runner.put_state(state)
  losses = []
  for _ in range(args.steps):
    state, metrics = runner(state, runner.put_batch(local), key)
    losses.append(runner.metrics(metrics)['loss'])
  state = runner.get_state(state)

  if args.num_processes > 1:
    fold_dir = os.path.join(args.out, f'fold_N{args.num_processes}')
    mngr = checkpoint.manager(fold_dir, keep=2)
    train_state.save_checkpoint(mngr, state)
    mngr.wait_until_finished()

  if jax.process_index() == 0:
    flat = jax.tree_util.tree_leaves_with_path(state.params)
    arrays = {jax.tree_util.keystr(p): mesh_lib.host_value(x) for p, x in flat}
    np.savez(os.path.join(args.out, f'result_N{args.num_processes}.npz'),
             losses=np.asarray(losses), **arrays)
  if args.num_processes > 1:
    jax.distributed.shutdown()
  print(f'process {args.process_id}: done, losses {losses}', flush=True)


if __name__ == '__main__':
  main()
