"""The optimizer recipe's arithmetic: schedules, coupled vs decoupled weight
decay, and the optimizer reset at the schedule's boundaries."""

import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from lgpn_jax.train import optim

EPS = 1e-8


def train_cfg(**kw):
  c = ml_collections.ConfigDict(dict(
      learning_rate=0.01, schedule='staircase', lr_decay_rate=0.8,
      lr_decay_steps=10, warmup_steps=0, lr_boundaries=(), lr_scales=(),
      reset_optimizer_at_boundaries=False, weight_decay=0.0,
      weight_decay_mode='decoupled', b1=0.9, b2=0.999, grad_clip_norm=0.0))
  c.update(kw)
  return c


def test_piecewise_schedule_is_absolute_and_starts_after_the_boundary():
  # The released script: 0.01, then 0.01 * 0.8 after 20 and after 40 epochs.
  s = optim.learning_rate_schedule(train_cfg(
      schedule='piecewise', lr_boundaries=(200, 400), lr_scales=(0.8, 0.8)))
  got = [float(s(k)) for k in (0, 199, 200, 399, 400, 10_000)]
  np.testing.assert_allclose(got, [0.01, 0.01, 0.008, 0.008, 0.008, 0.008],
                             rtol=1e-6)


def test_staircase_schedule_compounds():
  s = optim.learning_rate_schedule(train_cfg())
  np.testing.assert_allclose([float(s(k)) for k in (0, 9, 10, 25)],
                             [0.01, 0.01, 0.008, 0.0064], rtol=1e-6)


def test_bad_schedules_are_clear_errors():
  with pytest.raises(ValueError, match='same length'):
    optim.learning_rate_schedule(train_cfg(schedule='piecewise',
                                           lr_boundaries=(5,), lr_scales=()))
  with pytest.raises(ValueError, match='increase'):
    optim.learning_rate_schedule(train_cfg(schedule='piecewise',
                                           lr_boundaries=(5, 3),
                                           lr_scales=(1, 1)))
  with pytest.raises(ValueError, match='train.schedule'):
    optim.learning_rate_schedule(train_cfg(schedule='cosine'))
  with pytest.raises(ValueError, match='piecewise'):
    optim.make_optimizer(train_cfg(reset_optimizer_at_boundaries=True))


def adam_steps(grads, p0, lr, wd, coupled, b1=0.9, b2=0.999, reset=()):
  """Adam by hand (PyTorch's formula), returning the parameter after each
  step; ``reset``: steps (updates done) before which Adam starts afresh."""
  p, m, v, t, out = p0, 0.0, 0.0, 0, []
  for k, g in enumerate(grads):
    if k in reset:
      m, v, t = 0.0, 0.0, 0
    if coupled:
      g = g + wd * p
    t += 1
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    step = (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + EPS)
    if not coupled:
      step = step + wd * p
    p = p - lr * step
    out.append(p)
  return np.array(out)


def run(tx, grads, p0):
  params = jnp.asarray(p0, jnp.float32)
  state = tx.init(params)
  out = []
  for g in grads:
    updates, state = tx.update(jnp.asarray(g, jnp.float32), state, params)
    params = params + updates
    out.append(float(params))
  return np.array(out)


@pytest.mark.parametrize('mode', ['coupled', 'decoupled'])
def test_weight_decay_modes_match_the_formulas(mode):
  grads, p0, lr, wd = [0.3, -0.2, 0.05], 2.0, 0.1, 0.5
  tx, _ = optim.make_optimizer(train_cfg(
      schedule='piecewise', learning_rate=lr, weight_decay=wd,
      weight_decay_mode=mode))
  want = adam_steps(grads, p0, lr, wd, coupled=mode == 'coupled')
  np.testing.assert_allclose(run(tx, grads, p0), want, rtol=1e-5)
  other = adam_steps(grads, p0, lr, wd, coupled=mode != 'coupled')
  assert not np.allclose(want, other, rtol=1e-3)   # the modes differ.


def test_reset_restarts_adam_at_the_boundary():
  grads = [0.3, -0.2, 0.05, 0.4, -0.1]
  tx, _ = optim.make_optimizer(train_cfg(
      schedule='piecewise', learning_rate=0.1, lr_boundaries=(2,),
      lr_scales=(1.0,), reset_optimizer_at_boundaries=True,
      weight_decay=1e-3, weight_decay_mode='coupled'))
  got = run(tx, grads, 1.0)
  np.testing.assert_allclose(
      got, adam_steps(grads, 1.0, 0.1, 1e-3, True, reset=(2,)), rtol=1e-5)
  assert not np.allclose(got, adam_steps(grads, 1.0, 0.1, 1e-3, True),
                         rtol=1e-3)
