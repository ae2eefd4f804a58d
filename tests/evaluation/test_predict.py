"""predict.py: image reading, folder listing, the printed report, clear errors."""

import io
import os

import numpy as np
import pytest
from PIL import Image

from configs import tiny
from lgpn_jax import rundir
from lgpn_jax.evaluation import fold_model, predict
from lgpn_jax.evaluation.parsing import regression
from lgpn_jax.red140 import continuous, graphs, schema


def write_png(path, value, size=20):
  Image.fromarray(np.full((size, size, 3), value, np.uint8)).save(path)


def test_load_image_resizes_and_scales(tmp_path):
  write_png(tmp_path / 'a.png', 255, size=20)
  x = predict.load_image(str(tmp_path / 'a.png'), 8)
  assert x.shape == (8, 8, 3) and x.dtype == np.float32
  np.testing.assert_allclose(x, 1.0)
  Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / 'g.jpg')  # gray.
  np.testing.assert_allclose(predict.load_image(str(tmp_path / 'g.jpg'), 8), -1)
  (tmp_path / 'bad.png').write_bytes(b'not an image')
  with pytest.raises(predict.ImageError, match='cannot read image'):
    predict.load_image(str(tmp_path / 'bad.png'), 8)


def test_list_images(tmp_path):
  for n in ('b.PNG', 'a.jpg', 'notes.txt'):
    (tmp_path / n).write_bytes(b'x')
  assert [os.path.basename(p) for p in predict.list_images(str(tmp_path))] == [
      'a.jpg', 'b.PNG']
  with pytest.raises(FileNotFoundError, match='no such image'):
    predict.list_images(str(tmp_path / 'missing.png'))
  os.makedirs(tmp_path / 'empty')
  with pytest.raises(FileNotFoundError, match='no .png'):
    predict.list_images(str(tmp_path / 'empty'))


def test_missing_checkpoint_is_a_clear_error(tmp_path):
  write_png(tmp_path / 'a.png', 0)
  with pytest.raises(FileNotFoundError, match='no fold directory'):
    predict.run(tiny.get_config(), str(tmp_path), 1, str(tmp_path / 'a.png'))


def test_report_per_image_with_regressed_values(tmp_path, fake_model):
  """A fake model: image value v in [-1, 1] -> P(node j) = sigmoid(v (j - 27))."""
  config = tiny.get_config()
  config.data.image_size = 4
  fdir = rundir.fold_dir(str(tmp_path), 1)
  os.makedirs(fdir)
  # Regression: params = bias 0.5 (normalised), everything else 0.
  norm = continuous.for_fold(1, 'paper', 'minmax')
  head = regression.RegressionHead(np.zeros((9, 12)), np.full(9, 0.5), 0.0,
                                   np.ones(9), np.zeros(9), norm)
  head.save(rundir.regression_path(fdir))
  state = fold_model.FoldModel(fake_model(), {},
                               graphs.fold_correlation_graph(1), None, 1,
                               'paper')
  folder = tmp_path / 'imgs'
  os.makedirs(folder)
  write_png(folder / '1_white.png', 255)   # v = 1: nodes 28.. used.
  write_png(folder / '2_black.png', 0)     # v = -1: nodes ..26 used.
  (folder / '3_broken.jpg').write_bytes(b'garbage')
  out, err = io.StringIO(), io.StringIO()
  status = predict.run(config, str(tmp_path), 1, str(folder), model_state=state,
                       out=out, err=err)
  assert status == 1 and 'cannot read image' in err.getvalue()
  text = out.getvalue()
  white, black = text.split('== ')[1:]
  assert white.startswith(str(folder / '1_white.png'))
  # loss/L1 is node 0: used for black (v=-1, logit 27), not for white.
  assert 'loss/L1' in white and 'not used' in white.split('loss/L1')[1].split('\n')[0]
  assert ' used' in black.split('loss/L1')[1].split('\n')[0]
  assert 'not used' not in black.split('loss/L1')[1].split('\n')[0]
  mid = norm.denormalise(np.full(9, 0.5))
  j = schema.CONTINUOUS_COLUMNS.index('params')
  assert f'~{mid[j]:.4g}' in white
