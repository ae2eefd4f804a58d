"""The optimizer and learning-rate schedule of ``config.train``.

Adam with decoupled weight decay (``optax.adamw``; note optax scales the decay
by the learning rate, as PyTorch's AdamW does) and the released code's
staircase schedule: lr * decay_rate ** floor(step / decay_steps), optionally
after ``warmup_steps`` of linear warmup from 0 (the decay then counts steps
after the warmup). ``grad_clip_norm > 0`` clips the global gradient norm first.
"""

from __future__ import annotations

import optax


def learning_rate_schedule(train_cfg) -> optax.Schedule:
  """step -> learning rate for ``config.train``."""
  if train_cfg.lr_decay_steps < 1:
    raise ValueError('train.lr_decay_steps must be >= 1, got '
                     f'{train_cfg.lr_decay_steps}')
  decay = optax.exponential_decay(
      init_value=train_cfg.learning_rate,
      transition_steps=train_cfg.lr_decay_steps,
      decay_rate=train_cfg.lr_decay_rate, staircase=True)
  warmup = int(train_cfg.warmup_steps)
  if warmup <= 0:
    return decay
  ramp = optax.linear_schedule(0.0, train_cfg.learning_rate, warmup)
  return optax.join_schedules([ramp, decay], boundaries=[warmup])


def make_optimizer(train_cfg) -> tuple[optax.GradientTransformation,
                                       optax.Schedule]:
  """(optax transformation, its schedule) for ``config.train``."""
  schedule = learning_rate_schedule(train_cfg)
  adam = optax.adamw(schedule, b1=train_cfg.b1, b2=train_cfg.b2,
                     weight_decay=train_cfg.weight_decay)
  if train_cfg.grad_clip_norm > 0:
    adam = optax.chain(optax.clip_by_global_norm(train_cfg.grad_clip_norm),
                       adam)
  return adam, schedule
