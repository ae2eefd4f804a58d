"""Detection and attribution end to end on tiny synthetic data (8 CPU devices):
train.py's trainer with ``config.task``, then the task evaluation JSON.

The detection tests share one compiled train step (the trainer's program
cache is keyed by the task, its number of classes and the optimizer settings,
not by the GM lists or the number of steps), so every detection test uses the
same learning-rate schedule.
"""

import json
import os

import numpy as np
import pytest

import lgpn_jax
from configs import attribution, detection, tiny
from lgpn_jax import run
from lgpn_jax.red140 import schema

PROTOCOL_1 = attribution.PROTOCOLS['1']


def tiny_task_config(data_dir, task: str, build: dict, **data):
  """A tiny detection / attribution config on a synthetic build made with
  ``build`` options (``data`` overrides images_per_gm / num_real)."""
  c = tiny.get_config()
  paper = (detection if task == 'detection' else attribution).get_config()
  c.task = paper.task
  c.task_data = paper.task_data
  c.data.data_dir = data_dir
  for k, v in dict(build, **data).items():
    if k in ('images_per_gm', 'num_real'):
      c.data[k] = v
  t = c.train
  t.batch_size = 16
  t.num_steps = 2
  t.skip_all_real_batches = False
  t.checkpoint_every = 2
  t.log_every = 1
  t.learning_rate = 3e-3           # one schedule for every test: one compile
  t.lr_decay_steps = 1000          # per task (see the module doc).
  t.warmup_steps = 0
  t.eval_batch_size = 32
  return c


@pytest.mark.slow
def test_detection_trains_and_writes_the_json(synthetic_dir, tmp_path,
                                              tiny_build):
  c = tiny_task_config(synthetic_dir, 'detection', tiny_build)
  c.task_data.train_gms = ('PROG_GAN', 'SNGAN')
  c.task_data.test_gms = ('STYLEGAN', 'CYCLEGAN')
  result = run.train_and_evaluate(c, str(tmp_path))
  assert result.eval_path == str(tmp_path / 'fold1' / 'eval_detection.json')
  with open(result.eval_path) as f:
    r = json.load(f)
  assert r['task'] == 'detection' and r['step'] == 2
  assert set(r['per_gm']) == {'STYLEGAN', 'CYCLEGAN'}
  for row in r['per_gm'].values():   # unseen GMs: every image is tested.
    assert row['num_images'] == tiny_build['images_per_gm']
    assert 0 <= row['ap'] <= 1 and 0 <= row['accuracy'] <= 1
  assert 0 < r['num_real'] < tiny_build['num_real']   # the held-out real images.
  assert r['num_images'] == r['num_real'] + 2 * tiny_build['images_per_gm']
  assert np.isfinite(r['mean_ap']) and 'ap' in r['definitions']
  # predict.py parses models: a detection fold is named, not mis-built.
  with pytest.raises(ValueError, match='trained for detection: predict'):
    lgpn_jax.predict(str(tmp_path), [])


@pytest.mark.slow
def test_attribution_trains_and_eval_py_writes_json_and_plot(
    synthetic_dir, tmp_path, tiny_build):
  c = tiny_task_config(synthetic_dir, 'attribution', tiny_build)
  c.task_data.holdout_percent = 50
  c.train.run_evaluation = False
  run.train_and_evaluate(c, str(tmp_path))
  paths = run.evaluate(c, str(tmp_path))
  assert paths == [str(tmp_path / 'fold1' / 'eval_attribution.json')]
  with open(paths[0]) as f:
    r = json.load(f)
  assert r['class_names'] == ['real', *PROTOCOL_1]
  cm = np.array(r['confusion'])
  assert cm.shape == (5, 5) and cm.sum() == r['num_images'] > 0
  assert r['accuracy'] == pytest.approx(np.trace(cm) / cm.sum())
  assert os.path.getsize(tmp_path / 'fold1' / 'plots' /
                         'confusion_attribution.png') > 0


@pytest.fixture(scope='session')
def detection_data(tmp_path_factory):
  """A synthetic build with enough real images for held-out metrics."""
  root = tmp_path_factory.getbasetemp() / 'synthetic_detection'
  from input_pipeline import builders
  builders.ensure_built('synthetic', str(root), num_shards=2, verbose=False,
                        image_size=32, images_per_gm=3, num_real=200)
  return str(root)


@pytest.mark.slow
def test_detection_beats_chance_on_held_out_images(detection_data, tmp_path,
                                                  tiny_build):
  c = tiny_task_config(detection_data, 'detection', tiny_build, num_real=200)
  set0 = [g.name for g in schema.gms() if g.test_set == 0]
  c.task_data.train_gms = tuple(set0)
  c.task_data.test_gms = tuple(g.name for g in schema.gms()
                               if g.test_set in (1, 2) and
                               not g.removed_from_test_in_paper)
  c.task_data.real_fraction = 0.5
  t = c.train
  t.num_steps = 100
  t.checkpoint_every = 100
  t.log_every = 50
  result = run.train_and_evaluate(c, str(tmp_path))
  with open(result.eval_path) as f:
    r = json.load(f)
  per_gm = tiny_build['images_per_gm']
  chance = per_gm / (per_gm + r['num_real'])
  print(f"mean AP {r['mean_ap']:.3f} (chance {chance:.3f}), mean accuracy "
        f"{r['mean_accuracy']:.3f}")
  assert r['num_real'] >= 20
  assert r['mean_ap'] > 2 * chance
