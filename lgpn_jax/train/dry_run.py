"""What a training run would be, without running it: ``describe(config,
task, builder)`` (``train.py --dry_run``).

The text has four parts:
  * the config (every field);
  * parameters and forward FLOPs per image per module group (the groups of
    ``lgpn_jax/perf/roofline.group_of``: 'backbone/layer1', 'node_heads',
    ...), read off ``jax.eval_shape`` of the model's init and the traced
    inference forward at ``data.image_size`` (convolutions and matmuls, 2
    FLOPs per multiply-add, as ``lgpn_jax/perf/flops.py`` counts them);
    nothing is compiled or allocated;
  * the data set's splits with their sizes, and the fold's training and test
    splits (RED140's leave-one-set-out folds, which model parsing uses);
  * the devices, the global and per-device batch, the steps (epoch-based
    settings resolved as training resolves them, ``resolve.py``) and the
    epochs they make of the fold's training split.
"""

from __future__ import annotations

import collections

import jax
import jax.numpy as jnp

from lgpn_jax import data
from lgpn_jax.perf import roofline
from lgpn_jax.train import resolve


def _group(name_stack: str) -> str:
  """``roofline.group_of`` of a module path, without einsum specs
  ('graph_head/bio,bij->bo' -> 'graph_head')."""
  group = roofline.group_of(name_stack)
  return '/'.join(p for p in group.split('/') if p.isidentifier()) or group


def _module_table(model, image_size: int, adjacency) -> list[tuple]:
  """[(group, parameters, forward FLOPs per image)] sorted by FLOPs."""
  image = jax.ShapeDtypeStruct((1, image_size, image_size, 3), jnp.float32)
  adj = jnp.asarray(adjacency, jnp.float32)
  variables = jax.eval_shape(
      lambda x: model.init({'params': jax.random.key(0),
                            'dropout': jax.random.key(0)}, x, adj,
                           train=False), image)
  params = collections.Counter()
  for path, leaf in jax.tree_util.tree_flatten_with_path(
      variables['params'])[0]:
    names = [str(getattr(p, 'key', p)) for p in path]
    params[_group('model/' + '/'.join(names[:-1]))] += leaf.size
  flops = collections.Counter()
  forward = lambda v, x: model.apply(v, x, adj, train=False)  # noqa: E731
  for op in roofline.heavy_ops(forward, variables, image):
    flops[_group('model/' + op.group)] += op.flops
  groups = sorted(set(params) | set(flops), key=lambda g: (-flops[g], g))
  return [(g, params[g], flops[g]) for g in groups]


def describe(config, task, builder) -> str:
  """The dry run's text (see the module doc)."""
  c, t = config, config.train
  lines = ['== config', str(config).rstrip(), '']
  table = _module_table(task.build_model(config.model),
                        int(c.data.image_size), task.adjacency())
  total_p = sum(p for _, p, _ in table)
  total_f = sum(f for _, _, f in table)
  width = max(len(g) for g, _, _ in table + [('total', 0, 0)])
  lines += [f'== parameters and forward FLOPs per image at '
            f'{c.data.image_size}x{c.data.image_size} (conv + matmul, '
            '2 per multiply-add; a training step is about 3x)',
            f'{"module":{width}s} {"parameters":>12s} {"share":>6s} '
            f'{"MFLOPs":>12s} {"share":>6s}']
  for g, p, f in table + [('total', total_p, total_f)]:
    lines.append(f'{g:{width}s} {p:12,d} {100 * p / max(total_p, 1):5.1f}% '
                 f'{f / 1e6:12,.1f} {100 * f / max(total_f, 1):5.1f}%')
  sizes = data.split_sizes(builder)
  train, test = data.fold_splits(builder, int(c.fold), c.data.protocol)
  train_n = sum(sizes[s] for s in train)
  lines += ['', f'== data: {builder.name}/{builder.builder_config.name} '
            f'{builder.version} in {builder.data_dir}',
            '  '.join(f'{k} {v:,d}' for k, v in sizes.items()),
            f'fold {c.fold} ({c.data.protocol} protocol): train '
            f'{"+".join(train)} = {train_n:,d} images; test {"+".join(test)} '
            f'= {sum(sizes[s] for s in test):,d} images']
  steps = resolve.resolve_steps(
      config, train_n if resolve.uses_epochs(t) else None).train.num_steps
  devices = jax.devices()
  lines += ['', f'== devices: {len(devices)} x {devices[0].device_kind} '
            f'({devices[0].platform}) on {jax.process_count()} process(es)',
            f'batch {t.batch_size} global, {t.batch_size // len(devices)} per '
            f'device; {steps:,d} steps = '
            f'{steps * t.batch_size / max(train_n, 1):.1f} epochs of the '
            'fold\'s training split; nothing was trained (--dry_run)']
  return '\n'.join(lines)
