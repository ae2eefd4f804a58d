"""The RED140 manual-directory builder on a small hand-made directory."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from input_pipeline import build, builders, pipeline
from lgpn_jax.red140 import schema

RNG = np.random.default_rng(1)


def _rgb(h=20, w=24):
  return RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.fixture(scope='module')
def manual_dir(tmp_path_factory, encode):
  """GM folders with odd spellings, odd image modes and two broken files."""
  root = tmp_path_factory.mktemp('red140_manual')
  files = {}  # relative path -> (bytes, expected decoded RGB or None).

  def put(rel, data, want):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    files[rel] = want

  a, b, c = _rgb(), _rgb(), _rgb(16, 16)
  put('PixelCNN++/rgb.png', encode(Image.fromarray(a), 'PNG'), a)
  put('PixelCNN++/sub/gray.png', encode(Image.fromarray(b[..., 0]), 'PNG'),
      np.dstack([b[..., 0]] * 3))
  put('Fast pixel/rgba.png',
      encode(Image.fromarray(np.dstack([c, c[..., :1]])), 'PNG'), c)
  pal = Image.fromarray(a).convert('P')
  put('Fast pixel/palette.png', encode(pal, 'PNG'),
      np.asarray(pal.convert('RGB')))
  wide = b[..., 1].astype(np.uint16) * 257
  put('aae/sixteen.png', encode(Image.fromarray(wide), 'PNG'),
      np.dstack([b[..., 1]] * 3))
  jpeg = encode(Image.fromarray(c), 'JPEG', quality=95)
  put('aae/photo.jpg', jpeg, None)          # lossy: compared loosely.
  put('aae/garbage.png', b'\x00garbage' * 20, None)
  put('STA_DM_15/x.png', encode(Image.fromarray(c), 'PNG'), c)
  put('STA_DM_15/truncated.png', encode(Image.fromarray(_rgb()), 'PNG')[:80],
      None)
  put('ImageNet/n01/real.png', encode(Image.fromarray(a), 'PNG'), a)
  put('real/FFHQ/face.png', encode(Image.fromarray(b), 'PNG'), b)
  (root / 'notes.txt').write_text('top-level files are ignored and listed')
  return root, files


def _build(manual, data_dir, **opts):
  opts = {'store_size': 0, 'verbose': False, **opts}
  return builders.ensure_built('red140', str(data_dir), manual_dir=str(manual),
                               **opts)


@pytest.fixture(scope='module')
def built(manual_dir, tmp_path_factory):
  root, files = manual_dir
  return _build(root, tmp_path_factory.mktemp('red140_data')), files


def test_report_counts_and_lists_every_skipped_file(built):
  b, files = built
  rep = builders.load_report(b)
  assert rep['total_written'] == 9
  # PIXELCNN_PP: set 1; AAE: set 2; FASTPIXEL: set 2, "(R)"; STABLE_DM_15: 3.
  assert rep['written'] == {'real': 2, 'set1': 2, 'set2': 2, 'set2_removed': 2,
                            'set3': 1}
  assert sorted(b.info.splits) == sorted(rep['written'])
  assert sorted(p for p, _ in rep['skipped']) == [
      'STA_DM_15/truncated.png', 'aae/garbage.png']
  assert rep['num_skipped'] == 2
  assert [p for p, _ in rep['ignored']] == ['notes.txt']
  assert rep['per_gm'] == {'AAE': 2, 'FASTPIXEL': 2, 'PIXELCNN_PP': 2,
                           'STABLE_DM_15': 1, 'real:FFHQ': 1,
                           'real:ImageNet': 1}
  assert rep['folders']['PixelCNN++'] == 'PIXELCNN_PP'
  assert rep['folders']['real/FFHQ'] == 'real'
  assert rep['converted'] == {'PNG I;16->PNG RGB': 1, 'PNG P->PNG RGB': 1,
                              'PNG RGBA->PNG RGB': 1}
  assert len(rep['missing_gms']) == 140 - 4
  written = sum(b.info.splits[s].num_examples for s in b.info.splits)
  assert written == rep['total_written']


def test_records_carry_labels_and_decode_to_the_source_pixels(built, read_records):
  b, files = built
  split_expr = '+'.join(sorted(b.info.splits))
  records = read_records(b, split_expr)
  assert len(records) == 9
  for ex in records:
    name = ex['filename'].decode()
    gm = ex['gm'].decode()
    if gm:
      info = schema.get_gm(gm)
      np.testing.assert_array_equal(ex['label'], schema.encode(info.raw))
      values, mask = schema.continuous_values(info.raw)
      np.testing.assert_array_equal(ex['continuous'], values)
      np.testing.assert_array_equal(ex['continuous_mask'], mask)
      assert ex['gm_index'] == schema.gm_index()[gm]
      assert ex['is_generated'] == 1 and ex['test_set'] == info.test_set
    else:
      assert ex['gm_index'] == -1 and ex['is_generated'] == 0
      assert not ex['label'].any() and not ex['continuous_mask'].any()
  # Through the pipeline at native size (no resize): exact pixels.
  for split in sorted(b.info.splits):
    ds, plan = pipeline.eval_dataset(b, split, batch_size=1, image_size=16,
                                     process_index=0, process_count=1)
    assert plan.num_examples == b.info.splits[split].num_examples
  by_name = {r['filename'].decode(): r for r in records}
  import tensorflow as tf
  for name, want in files.items():
    if name not in by_name:
      assert name in ('aae/garbage.png', 'STA_DM_15/truncated.png')
      continue
    got = tf.io.decode_image(by_name[name]['image'], channels=3).numpy()
    if want is None:   # the JPEG: kept as is, decodes close to the source.
      assert got.shape == (16, 16, 3)
      continue
    np.testing.assert_array_equal(got, want, err_msg=name)


def test_unknown_folder_stops_the_build_naming_close_gms(tmp_path, encode):
  bad = tmp_path / 'manual'
  (bad / 'BigGAN-1024').mkdir(parents=True)
  (bad / 'BigGAN-1024' / 'a.png').write_bytes(encode(Image.fromarray(_rgb()),
                                                     'PNG'))
  (bad / 'DCGAN').mkdir()
  (bad / 'DCGAN' / 'a.png').write_bytes(encode(Image.fromarray(_rgb()), 'PNG'))
  with pytest.raises(builders.BuildError) as err:
    _build(bad, tmp_path / 'data')
  msg = str(err.value)
  assert 'BigGAN-1024' in msg and 'BIGGAN_128' in msg and 'BIGGAN_512' in msg
  assert not os.path.exists(tmp_path / 'data' / 'red140' / '1.0.0')
  b = _build(bad, tmp_path / 'data2', allow_unknown=True)
  rep = builders.load_report(b)
  assert rep['total_written'] == 1
  assert [p for p, _ in rep['ignored']] == ['BigGAN-1024/']


def test_cli_prints_the_error_without_traceback(manual_dir, tmp_path, capsys):
  (tmp_path / 'm' / 'NoSuchGAN').mkdir(parents=True)
  code = build.main(['--dataset=red140', f'--manual_dir={tmp_path / "m"}',
                     f'--data_dir={tmp_path / "d"}'])
  err = capsys.readouterr().err
  assert code == 2 and err.startswith('error: ') and 'NoSuchGAN' in err
  assert 'Traceback' not in err
  code = build.main(['--dataset=red140', f'--data_dir={tmp_path / "d"}'])
  assert code == 2 and '--manual_dir is required' in capsys.readouterr().err


def test_rebuild_gives_identical_shards(built, manual_dir, tmp_path, shard_contents):
  b, _ = built
  root, _ = manual_dir
  again = _build(root, tmp_path / 'again')
  first = shard_contents(os.fspath(b.data_dir))
  assert first and first == shard_contents(os.fspath(again.data_dir))
  with open(os.path.join(os.fspath(b.data_dir), 'build_report.json')) as f:
    assert json.load(f) == builders.load_report(again)


def test_built_red140_is_reused_and_all_unreadable_split_is_an_error(
    built, tmp_path, encode):
  b, _ = built
  data_dir = os.fspath(b.data_dir).rsplit(os.sep, 3)[0]
  again = builders.ensure_built('red140', data_dir, store_size=0,
                                verbose=False)
  assert os.fspath(again.data_dir) == os.fspath(b.data_dir)
  bad = tmp_path / 'm'
  (bad / 'DCGAN').mkdir(parents=True)
  (bad / 'DCGAN' / 'a.png').write_bytes(encode(Image.fromarray(_rgb()), 'PNG'))
  (bad / 'AAE').mkdir()
  (bad / 'AAE' / 'broken.png').write_bytes(b'\x89PNG broken')
  with pytest.raises(builders.BuildError, match='all 1 files are unreadable'):
    _build(bad, tmp_path / 'd')


@pytest.fixture(scope='module')
def hostile_dir(tmp_path_factory, encode, bomb_png):
  """Link loop, link out, FIFO, 144-megapixel bomb, over-size file, a name
  that is not UTF-8, an empty and an all-unreadable GM folder."""
  root = tmp_path_factory.mktemp('hostile')
  manual, outside = root / 'manual', root / 'outside'

  def put(rel, data):
    path = os.path.join(os.fsencode(root), os.fsencode(rel))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
      f.write(data)

  png = encode(Image.fromarray(_rgb()), 'PNG')
  for rel in ('manual/DCGAN/a.png', 'manual/DCGAN/sub/b.png',
              b'manual/DCGAN/caf\xe9.png', 'manual/AAE/c.png',
              'manual/ImageNet/r.png', 'outside/secret.png'):
    put(rel, png)
  put('manual/DCGAN/bomb.png', bomb_png)
  put('manual/DCGAN/big.png', png + bytes(2 ** 20))
  put('manual/BEGAN/bad.png', b'not an image')
  (manual / 'WGAN').mkdir()
  os.symlink('..', manual / 'DCGAN' / 'sub' / 'loop')
  os.symlink(outside / 'secret.png', manual / 'DCGAN' / 'secret.png')
  os.mkfifo(manual / 'DCGAN' / 'pipe.png')
  return manual


def test_hostile_folder_builds_exactly_with_any_worker_count(
    hostile_dir, tmp_path, capsys, read_records, shard_contents):
  builds = [_build(hostile_dir, tmp_path / f'w{w}', num_workers=w,
                   max_file_mb=1, verbose=True) for w in (1, 4)]
  printed = capsys.readouterr().out
  rep = builders.load_report(builds[0])
  assert rep == builders.load_report(builds[1])
  assert shard_contents(os.fspath(builds[0].data_dir)) == shard_contents(
      os.fspath(builds[1].data_dir))
  names = sorted(r['filename'].decode() for r in read_records(
      builds[0], '+'.join(sorted(builds[0].info.splits))))
  assert names == ['AAE/c.png', 'DCGAN/a.png', 'DCGAN/caf\\xe9.png',
                   'DCGAN/sub/b.png', 'ImageNet/r.png']
  skipped = dict(rep['skipped'])
  assert sorted(skipped) == ['BEGAN/bad.png', 'DCGAN/big.png', 'DCGAN/bomb.png']
  assert skipped['DCGAN/bomb.png'].startswith(
      'decompression bomb: 12000x12000 = 144000000 pixels')
  assert 'over the 1048576-byte file size limit' in skipped['DCGAN/big.png']
  assert dict(rep['ignored']) == {
      'DCGAN/pipe.png': 'FIFO, not read',
      'DCGAN/secret.png': 'symbolic link, not followed (docs/DATA.md)',
      'DCGAN/sub/loop': 'symbolic link, not followed (docs/DATA.md)'}
  assert rep['escaped_names'] == ['DCGAN/caf\\xe9.png']
  assert rep['empty_folders'] == {'BEGAN': 'all 1 files unreadable',
                                  'WGAN': 'no file to read'}
  assert rep['folder_counts']['DCGAN'] == {'found': 5, 'written': 3}
  assert rep['identity']['max_file_mb'] == 1
  for line in ('GM folders (4), folder -> GM:', '  AAE, BEGAN, DCGAN, WGAN',
               'real-image folders (1):', '  ImageNet',
               'EMPTY folders, no example written (2):',
               '  BEGAN (BEGAN): all 1 files unreadable',
               '  WGAN (WGAN): no file to read',
               'names not UTF-8, stored with \\x escapes (1):',
               '  DCGAN/caf\\xe9.png'):
    assert line in printed.splitlines(), line


def test_store_size_stores_what_the_read_path_would_make(
    built, manual_dir, tmp_path, read_records):
  """Resized once at build == decoded and resized at read time: exactly by
  the shared ``resize.to_square``, and within half an 8-bit level of the
  read path's own float resize."""
  from input_pipeline import resize
  from input_pipeline.tf_runtime import tf
  native, _ = built
  root, _ = manual_dir
  small = _build(root, tmp_path, store_size=16)
  assert builders.identity(small)['store_size'] == 16
  assert os.fspath(small.data_dir).endswith(os.path.join('red140', 's16',
                                                         '1.1.0'))
  rep = builders.load_report(small)
  assert rep['resized'] == {'20x24': 6}   # 16x16 ones are kept as they are.
  expr = '+'.join(sorted(native.info.splits))
  want = {r['filename']: r['image'] for r in read_records(native, expr)}
  got = {r['filename']: r['image'] for r in read_records(small, expr)}
  assert sorted(got) == sorted(want)
  for name, data in got.items():
    original = resize.decode(want[name])
    stored = resize.decode(data).numpy()
    np.testing.assert_array_equal(
        stored, resize.to_square(original, 16).numpy(), err_msg=name)
    if original.shape[:2] == (16, 16):
      assert data == want[name], name
    at_read = pipeline.decode_image(tf.constant(want[name]), 16).numpy()
    from_store = pipeline.decode_image(tf.constant(data), 16).numpy()
    np.testing.assert_allclose(from_store, at_read, atol=1 / 255 + 1e-6,
                               rtol=0, err_msg=name)
