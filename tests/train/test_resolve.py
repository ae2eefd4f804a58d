"""Epoch-based train settings resolved into steps (no model, no data)."""

import pytest

from configs import default, released
from lgpn_jax.train import resolve


def test_released_recipe_in_steps():
  c = released.get_config()
  # 1,000 images per epoch at batch 256 -> 3 steps (the partial batch drops).
  r = resolve.resolve_steps(c, 1000)
  t = r.train
  assert t.steps_per_epoch == 3 and t.num_steps == 60 * 3
  assert tuple(t.lr_boundaries) == (60, 120) and t.lr_boundary_unit == 'step'
  # The released loop scores after epochs 1, 6, 11, ... 56 (index % 5 == 0).
  assert resolve.selection_steps(t, 3) == [3 * e for e in range(1, 57, 5)]
  # The input config is left as written.
  assert c.train.num_steps == 0 and tuple(c.train.lr_boundaries) == (20, 40)


def test_step_based_configs_pass_through_and_errors_are_clear():
  c = default.get_config()
  default.step_based(c.train, num_steps=7)
  assert not resolve.uses_epochs(c.train)
  assert resolve.resolve_steps(c, None).train.num_steps == 7
  with pytest.raises(ValueError, match='number of training images'):
    resolve.resolve_steps(default.get_config(), None)
  with pytest.raises(ValueError, match='fewer than one batch'):
    resolve.resolve_steps(default.get_config(), 100)
  bad = default.get_config()
  bad.train.selection = 'best'
  with pytest.raises(ValueError, match='train.selection'):
    resolve.resolve_steps(bad, 10_000)
