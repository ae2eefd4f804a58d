"""Every training config loads, documents how to run it, and passes the
trainer's checks (no model is built or compiled here)."""

import glob
import importlib
import os

import pytest

from lgpn_jax import tasks
from lgpn_jax.train import trainer

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
NAMES = sorted(os.path.basename(p)[:-3]
               for p in glob.glob(os.path.join(REPO, 'configs', '*.py'))
               if not p.endswith('__init__.py'))


@pytest.mark.parametrize('name', NAMES)
def test_config_documents_itself_and_is_valid(name):
  module = importlib.import_module(f'configs.{name}')
  assert module.__doc__ and len(module.__doc__.strip()) > 40
  assert 'python ' in module.__doc__, f'{name}: say how to run it'
  config = module.get_config()
  task = tasks.get(config)
  trainer.check_config(config, 1, task)
  task.build_model(config.model)   # validates the model section (no init).
  assert config.train.batch_size % 8 == 0   # fits 8-device test meshes.


def test_variants_override_only_what_they_are_about():
  from configs import default, gtc_att_gcn, gtc_mlp, gtc_stacked_gcn
  from configs import resnet_gcn, tau
  assert resnet_gcn.get_config().model.backbone == 'resnet50'
  assert gtc_mlp.get_config().model.head == 'mlp'
  assert gtc_stacked_gcn.get_config().model.head == 'stacked_gcn'
  assert gtc_att_gcn.get_config().model.head == 'att_gcn'
  assert tau.get_config('0.35').graph.tau == 0.35
  assert tau.get_config().graph.tau == default.get_config().graph.tau
  with pytest.raises(ValueError, match='tau'):
    tau.get_config('1.5')


def test_quickstart_is_small_synthetic_32px():
  from configs import quickstart
  c = quickstart.get_config()
  assert c.data.dataset == 'synthetic' and c.data.image_size == 32
  assert c.model.dtype == 'float32' and c.train.num_steps <= 1000


def test_every_config_file_is_checked():
  assert {'default', 'released', 'quickstart', 'tiny'} <= set(NAMES)
