"""config.data -> build options (lgpn_jax/data.py); no data set is built."""

import pytest

from configs import default, quickstart, tiny
from lgpn_jax import data


def test_red140_is_stored_at_the_model_size_by_default():
  d = default.get_config().data
  assert data.build_options(d) == {'store_size': 256, 'manual_dir': None}
  d.store_size, d.manual_dir = 0, '/data/RED140'
  assert data.build_options(d) == {'store_size': 0,
                                   'manual_dir': '/data/RED140'}
  d.image_size = 128                     # native images: resized at read time.
  assert data.build_options(d)['store_size'] == 0


def test_a_store_size_other_than_the_image_size_is_refused():
  d = default.get_config().data
  d.image_size = 128
  with pytest.raises(ValueError, match='store_size=256 .* resized twice'):
    data.build_options(d)


def test_synthetic_options_are_its_generation_options():
  d = quickstart.get_config().data
  assert data.build_options(d) == {'image_size': 32, 'images_per_gm': 32,
                                   'num_real': 640}


def test_a_reused_build_is_announced_once(on_tiny_build, capsys, monkeypatch):
  """Training and the evaluation after it open the same build: one line."""
  monkeypatch.setattr(data, '_OPENED', set())
  c = on_tiny_build(tiny.get_config())
  first = data.builder(c)
  assert data.builder(c).data_dir == first.data_dir
  assert capsys.readouterr().out.count('already built') == 1
