"""predict: images read as training reads them, P(generated) first, a real
image told apart, regressed values clipped and checked against their bin, the
fold's config enforced, every unreadable file listed, JSON / CSV output."""

import csv
import io
import json
import os

import numpy as np
import pytest
from PIL import Image

import lgpn_jax
from configs import tiny
from input_pipeline import image_files
from lgpn_jax import rundir
from lgpn_jax.evaluation import fold_model, predict, predict_report
from lgpn_jax.evaluation.parsing import regression
from lgpn_jax.red140 import continuous, graphs, schema


def write_png(path, value, size=20):
  Image.fromarray(np.full((size, size, 3), value, np.uint8)).save(path)


def test_read_image_resizes_and_scales_like_the_pipeline(tmp_path):
  write_png(tmp_path / 'a.png', 255, size=20)
  x = predict.read_image(str(tmp_path / 'a.png'), 8)
  assert x.shape == (8, 8, 3) and x.dtype == np.float32
  np.testing.assert_allclose(x, 1.0, atol=1e-6)
  Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / 'g.jpg')  # grey.
  np.testing.assert_allclose(predict.read_image(str(tmp_path / 'g.jpg'), 8), -1)
  (tmp_path / 'bad.png').write_bytes(b'not an image')
  with pytest.raises(predict.ImageError, match='not a recognised image'):
    predict.read_image(str(tmp_path / 'bad.png'), 8)
  with pytest.raises(predict.ImageError, match='directory'):
    predict.read_image(str(tmp_path), 8)


def test_16_bit_grey_png_is_scaled_to_8_bits_not_saturated(tmp_path):
  """32768 of 65535 is mid-grey (8-bit 128), as the data builder converts
  it; Pillow's plain convert('RGB') would give white (1.0)."""
  Image.fromarray(np.full((6, 6), 32768, np.uint16)).save(tmp_path / 'w.png')
  with Image.open(tmp_path / 'w.png') as img:
    assert img.mode.startswith('I')          # really a 16-bit file.
  x = predict.read_image(str(tmp_path / 'w.png'), 6)
  np.testing.assert_allclose(x, (128 / 255 - 0.5) / 0.5, atol=1e-6)


def test_list_images_accepts_the_builders_formats(tmp_path):
  for name, fmt in (('b.PNG', 'PNG'), ('a.jpg', 'JPEG'), ('c.webp', 'WEBP'),
                    ('d.bmp', 'BMP'), ('e.tif', 'TIFF')):
    Image.new('RGB', (4, 4)).save(tmp_path / name, format=fmt)
  (tmp_path / 'notes.txt').write_text('x')
  images, skipped = predict.list_images(str(tmp_path))
  assert [os.path.basename(p) for p in images] == [
      'a.jpg', 'b.PNG', 'c.webp', 'd.bmp', 'e.tif']
  assert skipped == ['notes.txt']
  for p in images:                        # each one decodes.
    assert predict.read_image(p, 4).shape == (4, 4, 3)
  with pytest.raises(FileNotFoundError, match='no such image'):
    predict.list_images(str(tmp_path / 'missing.png'))
  os.makedirs(tmp_path / 'empty')
  with pytest.raises(FileNotFoundError, match='no image file'):
    predict.list_images(str(tmp_path / 'empty'))


def test_missing_fold_is_a_clear_error(tmp_path):
  write_png(tmp_path / 'a.png', 0)
  with pytest.raises(FileNotFoundError, match='no fold directory'):
    predict.predict(str(tmp_path), str(tmp_path / 'a.png'), fold=1)
  with pytest.raises(ValueError, match='choose one with --fold'):
    predict.predict(str(tmp_path), str(tmp_path / 'a.png'))


@pytest.fixture()
def fake_fold(tmp_path, fake_model):
  """A fold directory with config.json (image size 4), a regression head and
  the fake model as its loaded state."""
  config = tiny.get_config()
  config.data.image_size = 4
  fdir = rundir.fold_dir(str(tmp_path), 1)
  adj = graphs.fold_correlation_graph(1)
  rundir.save_fold_files(fdir, config, adj)
  state = fold_model.FoldModel(fake_model(), {}, adj, 12, 1, 'paper')
  return config, str(tmp_path), fdir, state


def save_head(fdir, bias, step=12):
  """A regression stage fitted at ``step`` (the fake fold's checkpoint: 12)."""
  norm = continuous.for_fold(1, 'paper', 'minmax')
  regression.RegressionHead(np.zeros((9, 12)), np.asarray(bias, float), 0.0,
                            np.ones(9), np.zeros(9), norm, step).save(
                                rundir.regression_path(fdir))
  return norm


def test_a_real_looking_image_gets_a_verdict_and_no_hyperparameters(
    fake_fold, tmp_path):
  """The fake model: white -> P(generated) 0.982, black -> 0.018."""
  config, workdir, fdir, state = fake_fold
  save_head(fdir, np.full(9, 0.5))
  folder = tmp_path / 'imgs'
  os.makedirs(folder)
  write_png(folder / '1_white.png', 255)
  write_png(folder / '2_black.png', 0)
  out, err = io.StringIO(), io.StringIO()
  status = predict.run(None, workdir, 1, str(folder), model_state=state,
                       out=out, err=err)
  assert status == 0, err.getvalue()
  white, black = out.getvalue().split('== ')[1:]
  assert white.startswith(str(folder / '1_white.png'))
  assert 'P(generated) = 0.982: looks GENERATED' in white
  assert 'P(generated) = 0.018: looks REAL' in black
  assert 'not shown (--force shows them)' in black and 'loss/L1' not in black
  # loss/L1 is node 0: P = sigmoid(v (0 - 27)): not used for white.
  line = white.split('loss/L1')[1].split('\n')[0]
  assert 'not used' in line
  assert '1 look generated, 1 look real; 0 unreadable' in black

  report = predict.predict(workdir, str(folder), force=True,
                           model_state=state)
  entry = report['images'][1]
  assert entry['looks'] == 'real' and entry['shown_despite_real'] is True
  assert entry['p_generated'] == pytest.approx(1 / (1 + np.exp(4)), rel=1e-5)
  l1 = entry['hyperparameters'][0]
  assert l1['name'] == 'loss/L1' and l1['value'] == 'used'
  assert l1['probability'] == pytest.approx(1 / (1 + np.exp(-27)))
  text = predict_report.format_entry(entry)
  assert 'they are not findings' in text and 'loss/L1' in text


def test_regressed_values_are_clipped_and_checked_against_the_bin(fake_fold,
                                                                   tmp_path):
  config, workdir, fdir, state = fake_fold
  j = schema.CONTINUOUS_COLUMNS.index('params')
  bias = np.full(9, 0.5)
  bias[j] = -5.0                                # far below every training GM.
  norm = save_head(fdir, bias)
  write_png(tmp_path / 'w.png', 255)
  report = predict.predict(workdir, str(tmp_path / 'w.png'), fold=1,
                           config=config, model_state=state)
  assert report['regression'] and report['image_size'] == 4
  rows = {r['name']: r for r in report['images'][0]['hyperparameters']}
  params = rows['continuous/params']
  low, high = predict_report.training_ranges(1, 'paper')
  assert params['regressed_unclipped'] == pytest.approx(
      norm.denormalise(bias)[j])
  assert params['regressed'] == low[j] and params['clipped']
  # White: P(node) grows with the node index, so the top bin is chosen,
  # while the clipped value (the smallest training GM's) is in the first.
  bins = [n for n in schema.nodes()
          if n.family == 'continuous' and n.source_column == 'params']
  assert bins[0].low <= low[j] < bins[0].high
  assert params['value'] == f'[{bins[-1].low:g}, inf)'
  assert params['in_predicted_bin'] is False
  layers = rows['continuous/layers']
  mid = norm.denormalise(np.full(9, 0.5))[0]
  assert layers['regressed'] == pytest.approx(mid) and not layers['clipped']
  text = predict_report.format_entry(report['images'][0])
  assert f'~{low[j]:.4g} *!' in text and predict_report.MARKS_NOTE in text


def test_a_config_that_disagrees_with_the_fold_names_both_values(fake_fold,
                                                                  tmp_path):
  config, workdir, _, state = fake_fold
  write_png(tmp_path / 'w.png', 255)
  other = tiny.get_config()                      # 32 px, the fold has 4 px.
  other.model.node_dim = 99
  with pytest.raises(ValueError) as e:
    predict.predict(workdir, str(tmp_path / 'w.png'), fold=1, config=other,
                    model_state=state)
  msg = str(e.value)
  assert 'data.image_size: fold 4, command line 32' in msg
  assert 'model.node_dim: fold 16, command line 99' in msg
  assert '\n' not in msg


def test_a_bomb_and_a_broken_file_do_not_stop_the_others(fake_fold, tmp_path,
                                                         monkeypatch):
  """The build's pixel limit, read from the header (lowered to 1,000)."""
  _, workdir, _, state = fake_fold
  monkeypatch.setattr(image_files, 'MAX_PIXELS', 1000)
  folder = tmp_path / 'imgs'
  os.makedirs(folder)
  write_png(folder / 'a.png', 255, size=20)         # 400 pixels: fine.
  write_png(folder / 'b_bomb.png', 255, size=60)    # 3,600 > 1,000.
  write_png(folder / 'c_warn.png', 255, size=40)    # 1,600 > 1,000.
  (folder / 'd_broken.jpg').write_bytes(b'garbage')
  write_png(folder / 'e.png', 0)
  out, err = io.StringIO(), io.StringIO()
  status = predict.run(None, workdir, 1, str(folder), model_state=state,
                       out_path=str(tmp_path / 'r.json'), out=out, err=err)
  assert status == 1
  report = json.loads((tmp_path / 'r.json').read_text())
  assert [os.path.basename(e['path']) for e in report['images']] == [
      'a.png', 'e.png']
  reasons = {os.path.basename(e['path']): e['reason'] for e in report['errors']}
  assert set(reasons) == {'b_bomb.png', 'c_warn.png', 'd_broken.jpg'}
  assert 'decompression bomb' in reasons['b_bomb.png']
  assert 'decompression bomb' in reasons['c_warn.png']
  for name in reasons:
    assert f'cannot read {folder / name}' in err.getvalue()
  assert '2 image(s) parsed: 1 look generated, 1 look real; 3 unreadable' in (
      out.getvalue())


def test_csv_has_a_row_per_image_and_per_unreadable_file(fake_fold, tmp_path):
  _, workdir, fdir, state = fake_fold
  save_head(fdir, np.full(9, 0.5))
  folder = tmp_path / 'imgs'
  os.makedirs(folder)
  write_png(folder / 'a.png', 255)
  write_png(folder / 'b.png', 0)
  (folder / 'c.png').write_bytes(b'')
  out = tmp_path / 'r.csv'
  assert predict.run(None, workdir, 1, str(folder), model_state=state,
                     out_path=str(out), out=io.StringIO(),
                     err=io.StringIO()) == 1
  rows = list(csv.DictReader(out.open()))
  assert [os.path.basename(r['path']) for r in rows] == ['a.png', 'b.png',
                                                         'c.png']
  assert rows[0]['looks'] == 'generated' and rows[0]['loss/L1'] == 'not used'
  assert float(rows[0]['p_generated']) == pytest.approx(0.982, abs=1e-3)
  assert rows[0]['continuous/layers regressed'] != ''
  assert rows[1]['looks'] == 'real' and rows[1]['loss/L1'] == ''
  assert rows[2]['error'] == 'empty file'
  with pytest.raises(ValueError, match='.json or .csv'):
    predict.run(None, workdir, 1, str(folder), model_state=state,
                out_path=str(tmp_path / 'r.txt'))


def test_the_package_api_returns_the_report(fake_fold, tmp_path):
  """A regression stage fitted to another checkpoint is not used."""
  _, workdir, fdir, state = fake_fold
  save_head(fdir, np.full(9, 0.5), step=11)
  write_png(tmp_path / 'w.png', 255)
  report = lgpn_jax.predict(workdir, [str(tmp_path / 'w.png')],
                            model_state=state)
  assert report['fold'] == 1 and report['checkpoint_step'] == 12
  assert report['images'][0]['looks'] == 'generated'
  assert report['regression'] is False
  assert 'regressed' not in report['images'][0]['hyperparameters'][10]
  json.dumps(report)                             # plain JSON types.


def test_a_fold_whose_data_is_stored_resized_reads_the_stored_pixels(tmp_path):
  """RED140 builds store images resized (8-bit, by the data layer's one
  resize): predict goes through that resize too. Stored at the training
  size, the pixels are exactly the read-time resize's; stored larger, the
  image is resized twice, as training reads it."""
  rng = np.random.default_rng(0)
  Image.fromarray(rng.integers(0, 256, (37, 29, 3), np.uint8)).save(
      tmp_path / 'a.png')
  read_time = predict.read_image(str(tmp_path / 'a.png'), 8)
  for store in (8, 16):
    stored = predict.read_image(str(tmp_path / 'a.png'), 8, store_size=store)
    levels = stored * 127.5 + 127.5
    np.testing.assert_allclose(levels, np.round(levels), atol=1e-3)
    if store == 8:
      np.testing.assert_array_equal(stored, read_time)
    else:
      assert np.abs(read_time - stored).max() > 0
      np.testing.assert_allclose(read_time, stored, atol=16 / 127.5)  # levels.
  config = tiny.get_config()
  assert predict.stored_size(config) == 0          # synthetic: as generated.
  config.data.dataset, config.data.image_size = 'red140', 256
  assert predict.stored_size(config) == config.data.store_size == 256
