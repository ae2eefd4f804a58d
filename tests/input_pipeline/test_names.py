"""Folder-name matching and fold -> split expressions (no TensorFlow)."""

import pytest

from input_pipeline import splits
from input_pipeline.red140 import names
from lgpn_jax.red140 import folds, schema
@pytest.mark.parametrize('folder, gm', [
    ('PixelCNN++', 'PIXELCNN_PP'),
    ('pixelcnn_pp', 'PIXELCNN_PP'),
    ('Fast pixel', 'FASTPIXEL'),
    ('STA_DM_15', 'STABLE_DM_15'),
    ('sta-dm-xl', 'STABLE_DM_XL'),
    ('StyleGAN2', 'STYLEGAN_2'),
    ('WGAN-GP', 'WGANGP'),
    ('BigGAN 128', 'BIGGAN_128'),
    ('ddiffgan_32', 'DDiFFGAN_32'),
    ('ProGAN', 'PROG_GAN'),
    ('StarGAN v2', 'STARGAN_2'),
])
def test_aliases(folder, gm):
  assert names.match_gm(folder) == gm


def test_every_table_name_matches_itself_in_any_case():
  for gm in schema.gms():
    assert names.match_gm(gm.name) == gm.name
    assert names.match_gm(gm.name.lower().replace('_', '-')) == gm.name


def test_unknown_and_close_names():
  assert names.match_gm('BigGAN-1024') is None
  close = names.closest_gms('BigGAN-1024')
  assert close and all(c.startswith('BIGGAN') for c in close[:3])
  assert names.match_gm('ImageNet') is None
  assert names.is_real_source('ImageNet')
  assert names.is_real_source('CIFAR-10')
  assert names.is_real_source('CelebA-HQ')
  assert names.is_real_source('LSUN_bedroom')
  assert names.is_real_source('lsun church-outdoor')
  assert not names.is_real_source('DCGAN')
  assert not names.is_real_source('LSUN_StyleGAN')   # no prefix rule.
  assert not names.is_real_source('real')            # real/<source>/ instead.


def _gms_of(split_expr):
  want = set(splits.parse_expr(split_expr))
  return {g.name for g in schema.gms() if splits.split_of(g.name) in want}


@pytest.mark.parametrize('protocol', folds.PROTOCOLS)
@pytest.mark.parametrize('fold', range(1, 5))
def test_fold_splits_match_folds(fold, protocol):
  train, test = splits.fold_splits(fold, protocol)
  f = folds.get_fold(fold, protocol)
  assert _gms_of(train) == set(f.train)
  assert _gms_of(test) == set(f.test)
  assert not _gms_of(train) & _gms_of(test)
  assert 'real' in splits.parse_expr(train)
  assert 'real' not in splits.parse_expr(test)
  if protocol == 'paper':
    removed = {g.name for g in schema.gms()
               if g.test_set == fold and g.removed_from_test_in_paper}
    assert removed and removed == set(f.dropped)
    assert not removed & (_gms_of(train) | _gms_of(test))


def test_fold_splits_available_and_errors():
  train, test = splits.fold_splits(2, 'released',
                                   available={'set0', 'set2', 'real'})
  assert (train, test) == ('set0+real', 'set2')
  with pytest.raises(ValueError, match='no test split'):
    splits.fold_splits(1, available={'set0', 'real'})
  with pytest.raises(ValueError, match='fold must be'):
    splits.fold_splits(5)
  with pytest.raises(ValueError, match='whole splits'):
    splits.parse_expr('set0[:10]')
  with pytest.raises(ValueError, match='twice'):
    splits.parse_expr('set0+set0')
