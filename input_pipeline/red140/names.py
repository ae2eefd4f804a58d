"""Matching folder names on disk to the 140 GM names and to real-image sources.

Folder names in the distributed archives do not always match the table's names
(``PixelCNN++`` for ``PIXELCNN_PP``, ``Fast pixel`` for ``FASTPIXEL``,
``STA_DM_15`` for ``STABLE_DM_15``). A name is *normalised* (upper case, ``++``
-> ``PP``, ``+`` -> ``P``, spaces, dashes, underscores and dots removed) and
looked up among the normalised GM names, then in ``ALIASES``.
"""

from __future__ import annotations

import difflib
import re

from lgpn_jax.red140 import schema

# Normalised spelling -> table name, for spellings normalisation alone misses.
ALIASES = {
    'STADM15': 'STABLE_DM_15',
    'STADM21': 'STABLE_DM_21',
    'STADMXL': 'STABLE_DM_XL',
    'SD15': 'STABLE_DM_15',
    'SD21': 'STABLE_DM_21',
    'SDXL': 'STABLE_DM_XL',
    'STABLEDIFFUSION15': 'STABLE_DM_15',
    'STABLEDIFFUSION21': 'STABLE_DM_21',
    'STABLEDIFFUSIONXL': 'STABLE_DM_XL',
    'PROGAN': 'PROG_GAN',
    'PGGAN': 'PROG_GAN',
    'PROGRESSIVEGAN': 'PROG_GAN',
    'STARGANV2': 'STARGAN_2',
    'STYLEGANV2': 'STYLEGAN_2',
    'STYLEGAN2ADA': 'STYLEGAN_ADA',
    'IMAGEGPT': 'IMAGE_GPT',
    'IGPT': 'IMAGE_GPT',
    'GATEDPIXELCNN': 'GATED_PIXEL_CNN',
    'WGANGRADIENTPENALTY': 'WGANGP',
    'DDIFFUSIONGAN32': 'DDiFFGAN_32',
    'DDIFFUSIONGAN256': 'DDiFFGAN_256',
}

# The real-image sources recognised as top-level folders of a manual
# directory, in full: a folder is real only when its normalised name is one of
# these (or it is under ``real/``, or given in ``real_dirs``). No prefix rule:
# a GM's output folder such as ``LSUN_StyleGAN`` must not pass as real images.
LSUN_CATEGORIES = (
    'bedroom', 'bridge', 'church', 'church_outdoor', 'classroom',
    'conference_room', 'dining_room', 'kitchen', 'living_room', 'restaurant',
    'tower', 'airplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car',
    'cat', 'chair', 'cow', 'dining_table', 'dog', 'horse', 'motorbike',
    'person', 'potted_plant', 'sheep', 'sofa', 'train', 'tv_monitor')
REAL_SOURCES = (('ImageNet', 'MNIST', 'CIFAR-10', 'CIFAR-100', 'CIFAR', 'FFHQ',
                 'CelebA-HQ', 'CelebA', 'COCO', 'LSUN')
                + tuple(f'LSUN_{c}' for c in LSUN_CATEGORIES))


def normalise(name: str) -> str:
  """Upper case, ``++``->``PP``, ``+``->``P``; drops spaces, ``-``, ``_``, ``.``."""
  text = name.strip().upper().replace('++', 'PP').replace('+', 'P')
  return re.sub(r'[\s\-_.]+', '', text)


def _table() -> dict[str, str]:
  table = {}
  for gm in schema.gms():
    key = normalise(gm.name)
    if key in table:
      raise ValueError(f'GM names {table[key]} and {gm.name} normalise alike')
    table[key] = gm.name
  for key, name in ALIASES.items():
    if name not in schema.gm_index():
      raise ValueError(f'alias {key} points to unknown GM {name}')
    table.setdefault(key, name)
  clash = [s for s in REAL_SOURCES if normalise(s) in table]
  if clash:
    raise ValueError(f'real sources {clash} normalise like GM names')
  return table


_TABLE = _table()
_REAL = frozenset(normalise(s) for s in REAL_SOURCES)


def match_gm(folder: str) -> str | None:
  """The table name of a GM folder, or None when it matches no GM."""
  return _TABLE.get(normalise(folder))


def closest_gms(folder: str, n: int = 5) -> list[str]:
  """Up to ``n`` GM names closest to ``folder`` (by normalised spelling)."""
  keys = difflib.get_close_matches(normalise(folder), _TABLE, n=3 * n,
                                   cutoff=0.4)
  out = []
  for key in keys:
    if _TABLE[key] not in out:
      out.append(_TABLE[key])
  return out[:n]


def is_real_source(folder: str) -> bool:
  """True when a top-level folder name is one of ``REAL_SOURCES``."""
  return normalise(folder) in _REAL
