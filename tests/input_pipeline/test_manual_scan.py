"""What a RED140 scan reads from a manual folder: no links, regular files only,
names that are not UTF-8, real-image folders by explicit name (no TensorFlow)."""

import os
import socket

import pytest

from input_pipeline.red140 import manual_scan
from input_pipeline.report import BuildReport


def _tree(root, files):
  for rel in files:
    path = os.path.join(os.fsencode(root), os.fsencode(rel))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
      f.write(b'x')


def _scan(root, **kw):
  report = BuildReport()
  files = manual_scan.scan(str(root), report=report, **kw)
  return {f.key: f for f in files}, report


def test_links_are_not_followed_loops_nor_out_of_the_folder(tmp_path):
  root, outside = tmp_path / 'manual', tmp_path / 'outside'
  _tree(root, ['DCGAN/a.png', 'DCGAN/sub/b.png', 'AAE/c.png'])
  _tree(outside, ['secret.png'])
  os.symlink('..', root / 'DCGAN' / 'sub' / 'loop')
  os.symlink(outside / 'secret.png', root / 'AAE' / 'secret.png')
  os.symlink(outside, root / 'AAE' / 'outdir')
  os.symlink(outside, root / 'WGAN')           # a GM folder that is a link.
  files, report = _scan(root)
  assert sorted(files) == ['AAE/c.png', 'DCGAN/a.png', 'DCGAN/sub/b.png']
  assert not any('secret' in f.path for f in files.values())
  ignored = dict(report.ignored)
  for link in ('DCGAN/sub/loop', 'AAE/secret.png', 'AAE/outdir', 'WGAN'):
    assert ignored[link].startswith('symbolic link, not followed'), link
  assert 'WGAN' in report.missing_gms


def test_the_manual_folder_and_real_dirs_may_be_links(tmp_path):
  _tree(tmp_path / 'data', ['DCGAN/a.png'])
  _tree(tmp_path / 'photos_2024', ['p.png'])
  _tree(tmp_path / 'other' / 'photos', ['q.png'])
  os.symlink(tmp_path / 'data', tmp_path / 'manual')
  os.symlink(tmp_path / 'photos_2024', tmp_path / 'photos')
  files, _ = _scan(tmp_path / 'manual', real_dirs=[str(tmp_path / 'photos')])
  assert sorted(files) == ['DCGAN/a.png', 'real_dirs/photos/p.png']
  assert files['real_dirs/photos/p.png'].gm is None
  with pytest.raises(manual_scan.ManualDirError,
                     match="two real_dirs entries are named 'photos'"):
    _scan(tmp_path / 'manual', real_dirs=[str(tmp_path / 'photos'),
                                          str(tmp_path / 'other' / 'photos')])


def _socket(path):
  socket.socket(socket.AF_UNIX).bind(str(path))


@pytest.mark.parametrize('make, kind', [(os.mkfifo, 'FIFO'),
                                        (_socket, 'socket')])
def test_special_files_are_listed_not_read(tmp_path, make, kind):
  _tree(tmp_path, ['DCGAN/a.png'])
  make(tmp_path / 'DCGAN' / 'pipe.png')
  files, report = _scan(tmp_path)
  assert sorted(files) == ['DCGAN/a.png']
  assert report.ignored == [['DCGAN/pipe.png', f'{kind}, not read']]


def test_names_that_are_not_utf8_are_escaped_and_listed(tmp_path):
  _tree(tmp_path, [b'DCGAN/caf\xe9.png', b'DCGAN/d\xffir/x.png', 'DCGAN/ok.png'])
  files, report = _scan(tmp_path)
  assert sorted(files) == ['DCGAN/caf\\xe9.png', 'DCGAN/d\\xffir/x.png',
                           'DCGAN/ok.png']
  f = files['DCGAN/caf\\xe9.png']
  assert os.fsencode(f.path).endswith(b'caf\xe9.png') and os.path.isfile(f.path)
  assert f.key.encode('utf-8')   # storable as text.
  assert sorted(report.escaped) == ['DCGAN/caf\\xe9.png', 'DCGAN/d\\xffir']


def test_escaped_names_cannot_collide_silently(tmp_path):
  _tree(tmp_path, [b'DCGAN/caf\xe9.png', 'DCGAN/caf\\xe9.png'])
  with pytest.raises(manual_scan.ManualDirError, match='two files have the key'):
    _scan(tmp_path)


def test_real_folders_only_by_explicit_name(tmp_path):
  _tree(tmp_path, ['DCGAN/a.png', 'LSUN_bedroom/b.png', 'lsun-church-outdoor/c.png',
                   'real/Mine/d.png', 'LSUN_StyleGAN/e.png'])
  with pytest.raises(manual_scan.ManualDirError,
                     match="'LSUN_StyleGAN' matches no GM and no real"):
    _scan(tmp_path)
  files, report = _scan(tmp_path, real_dirs=['LSUN_StyleGAN'])
  assert report.folders == {
      'DCGAN': 'DCGAN', 'LSUN_bedroom': 'real', 'lsun-church-outdoor': 'real',
      'real/Mine': 'real', 'real_dirs/LSUN_StyleGAN': 'real'}
  assert files['real_dirs/LSUN_StyleGAN/e.png'].gm is None
  assert report.found == {'DCGAN': 1, 'LSUN_bedroom': 1,
                          'lsun-church-outdoor': 1, 'real/Mine': 1,
                          'real_dirs/LSUN_StyleGAN': 1}
