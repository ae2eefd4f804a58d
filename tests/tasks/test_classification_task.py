"""The detection / attribution task descriptions (source tables) of the configs."""

import pytest

import lgpn_jax.tasks
from configs import attribution, detection
from lgpn_jax.tasks import classification as tasks


def test_task_specs_of_the_configs():
  s = tasks.spec(detection.get_config())
  assert s.class_names == ('real', 'generated') and s.train_gms == ('PROG_GAN',)
  assert s.train_table[0] == 0 and s.train_table[79] == 1   # PROG_GAN = 78.
  assert (s.train_table >= 0).sum() == 2 and not s.test_by_hash[1:].any()
  a = tasks.spec(attribution.get_config('2'))
  assert a.class_names[0] == 'real' and a.num_classes == 7
  assert a.train_table[79] == 4 and a.test_by_hash[79]


def test_unknown_gm_names_suggest_close_matches():
  c = detection.get_config()
  c.task_data.train_gms = ('PROGAN',)
  with pytest.raises(KeyError, match='PROG_GAN'):
    tasks.spec(c)
  c.task_data.train_gms = ('STYLEGAN',)
  with pytest.raises(ValueError, match='both'):
    tasks.spec(c)
  c.task = 'segmentation'
  with pytest.raises(ValueError, match='config.task must be one of'):
    lgpn_jax.tasks.get(c)
