r"""Build a data set once into a TFDS data directory.

usage: python -m input_pipeline.build --dataset=synthetic --data_dir=DIR
           [--image_size=64 --images_per_gm=32 --num_real=640 --seed=0]
       python -m input_pipeline.build --dataset=red140 --manual_dir=M
           --data_dir=DIR [--store_size=256] [--real_dirs=A,B]
           [--allow_unknown] [--max_file_mb=64]

synthetic is generated on the spot; red140 is read from the folder you
downloaded (layout in docs/DATA.md) and, by default, stored at the model's
256 x 256 (resized once, exactly as the read path would). Rebuilding with the
same inputs writes the same examples in the same shards; an existing build is reused only for
the same inputs (a different one stops with an error). The library function
is ``input_pipeline.builders.ensure_built``.
"""

from __future__ import annotations

import sys

from absl import flags

from input_pipeline import DATASETS, MAX_FILE_MB, STORE_SIZE
from lgpn_jax import cli

# Flags that apply to one data set only (given for the other: an error).
ONLY = {
    'red140': ('manual_dir', 'real_dirs', 'allow_unknown', 'store_size',
               'max_file_mb'),
    'synthetic': ('image_size', 'images_per_gm', 'num_real', 'seed'),
}


def define(fv: flags.FlagValues, argv) -> None:
  del argv   # (no config file here)
  flags.DEFINE_enum('dataset', None, DATASETS, 'synthetic: generated on the '
                    'spot; red140: from --manual_dir.', flag_values=fv)
  flags.DEFINE_string('data_dir', None, 'TFDS data directory the shards are '
                      'written to.', flag_values=fv)
  flags.DEFINE_integer('num_shards', None, 'Shard files per split (default: '
                       'chosen by TFDS from the split size); more shards '
                       'spread better over hosts.', flag_values=fv)
  flags.DEFINE_string('manual_dir', None, 'red140: the downloaded RED140 '
                      'directory.', flag_values=fv)
  flags.DEFINE_list('real_dirs', [], 'red140: extra real-image folders '
                    '(absolute or relative to --manual_dir), each named for '
                    'its source.', flag_values=fv)
  flags.DEFINE_bool('allow_unknown', False, 'red140: skip (and report) '
                    'folders that match no GM instead of stopping.',
                    flag_values=fv)
  flags.DEFINE_integer('store_size', STORE_SIZE, 'red140: side of the square '
                       'images stored, resized once at build exactly as the '
                       'read path would (default: the model\'s); 0 keeps '
                       'native sizes.', flag_values=fv)
  flags.DEFINE_integer('max_file_mb', MAX_FILE_MB, 'red140: larger files are '
                       'skipped and listed, unread.', flag_values=fv)
  flags.DEFINE_integer('num_workers', None, 'Threads decoding or generating '
                       'images (default: CPU count).', flag_values=fv)
  flags.DEFINE_integer('image_size', 64, 'synthetic: side of the generated '
                       'square images (multiple of 16).', flag_values=fv)
  flags.DEFINE_integer('images_per_gm', 32, 'synthetic: images per GM.',
                       flag_values=fv)
  flags.DEFINE_integer('num_real', None, 'synthetic: real images (crops of '
                       'bundled photographs); default 20 x images_per_gm.',
                       flag_values=fv)
  flags.DEFINE_integer('seed', 0, 'synthetic: generation seed.',
                       flag_values=fv)


def body(fv: flags.FlagValues) -> int:
  cli.required(fv, 'dataset', 'data_dir')
  for other, names in ONLY.items():
    wrong = [f'--{n}' for n in names if other != fv.dataset and fv[n].present]
    if wrong:
      raise ValueError(f'{", ".join(wrong)} apply to --dataset={other} only')
  if fv.dataset == 'red140':
    if not fv.manual_dir:
      raise ValueError('--manual_dir is required for red140')
    opts = dict(store_size=fv.store_size, real_dirs=list(fv.real_dirs),
                allow_unknown=fv.allow_unknown, max_file_mb=fv.max_file_mb)
  else:
    opts = dict(image_size=fv.image_size, images_per_gm=fv.images_per_gm,
                num_real=fv.num_real, seed=fv.seed)
  from input_pipeline import builders  # TensorFlow: after parsing.
  builders.ensure_built(fv.dataset, fv.data_dir, manual_dir=fv.manual_dir,
                        num_shards=fv.num_shards, num_workers=fv.num_workers,
                        **opts)
  return 0


def main(argv=None) -> int:
  return cli.run([sys.argv[0]] + list(sys.argv[1:] if argv is None else argv),
                 __doc__, define, body)


if __name__ == '__main__':
  sys.exit(main())
