"""A build is reused only for the inputs it was built from (builders)."""

import os

import numpy as np
import pytest
from PIL import Image

from input_pipeline import build, builders


@pytest.fixture(scope='module')
def red140(tmp_path_factory, encode):
  """Two manual folders with one GM image each; a native build of the first."""
  root = tmp_path_factory.mktemp('identity')
  for name in ('a', 'b'):
    (root / name / 'DCGAN').mkdir(parents=True)
    img = np.full((8, 8, 3), ord(name), np.uint8)
    (root / name / 'DCGAN' / 'x.png').write_bytes(encode(Image.fromarray(img),
                                                         'PNG'))
  os.symlink(root / 'a', root / 'link_to_a')
  data = str(root / 'data')
  b = builders.ensure_built('red140', data, manual_dir=str(root / 'a'),
                            store_size=0, num_shards=1, verbose=False)
  return root, data, b


def _shards(b):
  d = os.fspath(b.data_dir)
  return {n: os.stat(os.path.join(d, n)).st_mtime_ns for n in os.listdir(d)}


@pytest.mark.parametrize('change, field', [
    (dict(manual_dir='b'), 'manual_dir'),
    (dict(real_dirs=['/nonexistent/photos']), 'real_dirs'),
    (dict(allow_unknown=True), 'allow_unknown'),
    (dict(max_file_mb=1), 'max_file_mb'),
    (dict(num_shards=2), 'num_shards'),
])
def test_other_inputs_are_refused_and_the_build_is_untouched(red140, change,
                                                             field):
  root, data, b = red140
  before = _shards(b)
  opts = {'manual_dir': 'a', 'store_size': 0, **change}
  opts['manual_dir'] = str(root / opts['manual_dir'])
  with pytest.raises(builders.BuildError) as err:
    builders.ensure_built('red140', data, verbose=False, **opts)
  msg = str(err.value)
  assert f'{field}: built with ' in msg and 'never reused' in msg
  assert msg.count(': built with ') == 1
  assert _shards(b) == before


def test_same_inputs_are_reused_and_say_so(red140, capsys):
  root, data, b = red140
  for manual in ('a', 'link_to_a'):   # the same folder through a link.
    again = builders.ensure_built('red140', data, manual_dir=str(root / manual),
                                  store_size=0, real_dirs=[], num_shards=1)
    assert os.fspath(again.data_dir) == os.fspath(b.data_dir)
    assert f'already built at {b.data_dir} from these inputs' in (
        capsys.readouterr().out)
  assert builders.ensure_built('red140', data, store_size=0, verbose=False)
  assert builders.identity(b) == dict(
      dataset='red140', config='native', version='1.1.0',
      manual_dir=os.path.realpath(root / 'a'), store_size=0, real_dirs=[],
      allow_unknown=False, max_file_mb=64)


def test_a_missing_manual_dir_or_store_size_is_an_error_not_a_reuse(red140):
  root, data, _ = red140
  with pytest.raises(builders.BuildError, match='is not a directory'):
    builders.ensure_built('red140', data, manual_dir=str(root / 'nope'),
                          store_size=0)
  old = os.path.join(data, 'red140', '1.0.0')   # a build of version 1.0.0.
  os.makedirs(old)
  open(os.path.join(old, 'dataset_info.json'), 'w').close()
  with pytest.raises(builders.BuildError,
                     match=r'RED140 s256 .* is not built in .* \(built there: '
                     r'1\.0\.0, native/1\.1\.0; .* version 1\.1\.0 reads no '
                     'other'):
    builders.ensure_built('red140', data)


def test_cli_refuses_in_one_line_and_reports_a_reuse(red140, capsys):
  root, data, _ = red140
  args = [f'--data_dir={data}', '--dataset=red140', '--store_size=0',
          '--num_shards=1']
  assert build.main(args + [f'--manual_dir={root / "a"}']) == 0
  assert 'already built' in capsys.readouterr().out
  assert build.main(args + [f'--manual_dir={root / "b"}']) == 2
  err = capsys.readouterr().err.strip()
  assert err.startswith('error: ') and 'manual_dir: built with' in err
  assert len(err.splitlines()) == 1
  assert build.main(args + [f'--manual_dir={root / "a"}',
                            '--image_size=32']) == 2
  assert '--image_size apply to --dataset=synthetic only' in (
      capsys.readouterr().err)


def test_synthetic_identity_is_its_options(synthetic_builder, synthetic_dir,
                                           tiny_build, tiny_shards):
  assert builders.identity(synthetic_builder) == dict(
      dataset='synthetic', config='s32_n3_r24_seed0', version='1.0.0',
      **tiny_build)
  with pytest.raises(builders.BuildError, match='num_shards: built with'):
    builders.ensure_built('synthetic', synthetic_dir, num_shards=tiny_shards + 1,
                          verbose=False, **tiny_build)
  with pytest.raises(builders.BuildError, match='manual_dir is for red140'):
    builders.ensure_built('synthetic', synthetic_dir, manual_dir=synthetic_dir,
                          verbose=False, **tiny_build)
