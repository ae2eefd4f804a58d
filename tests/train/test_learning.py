"""A short run learns: upsampling and normalization nodes beat the majority label
on new images of the training GMs (synthetic RED, 32x32, tiny model).

Not a timing test; it trains a few hundred steps through train_and_evaluate
(data pipeline, 8 simulated devices) and probes the saved checkpoint.
"""

import pytest

from configs import tiny
from lgpn_jax import run

LEARN = dict(image_size=32, images_per_gm=12, num_real=96, seed=0)


@pytest.fixture(scope='module')
def learning_data(tmp_path_factory):
  from input_pipeline import builders
  root = str(tmp_path_factory.getbasetemp() / 'synthetic_learning')
  builders.ensure_built('synthetic', root, verbose=False, **LEARN)
  return root


@pytest.mark.slow
def test_short_training_beats_the_majority_label(learning_data, tmp_path,
                                                 train_overrides,
                                                 heldout_probe):
  config = tiny.get_config()
  config.data.data_dir = learning_data
  config.data.images_per_gm = LEARN['images_per_gm']
  config.data.num_real = LEARN['num_real']
  t = config.train
  t.update(train_overrides)
  t.num_steps = 300
  t.log_every = 50
  t.checkpoint_every = 300
  t.run_evaluation = False
  run.train_and_evaluate(config, str(tmp_path))
  # Image indices past the build's: unseen images of the same simulated GMs.
  scores = heldout_probe(str(tmp_path / 'fold1'), first=1000, count=2)
  print(scores)
  for group, (model_acc, majority_acc) in scores.items():
    assert model_acc > majority_acc + 0.03, (group, model_acc, majority_acc)
