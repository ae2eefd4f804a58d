r"""Is an image generated, and by a model with which hyperparameters?

usage: python predict.py --workdir=runs/lgpn --fold=1 --image=path/to/image.png
       python predict.py --workdir=runs/lgpn --fold=1 --image=path/to/folder \
           --out=predictions.csv          # or .json; one row per image
       python predict.py ... --force      # hyperparameters of real-looking images too

Loads the fold <workdir>/fold<k>/ (a trained fold, or one convert.py made
from the authors' weights) and reports, per image, P(generated) from the
model's real/generated head first. An image that looks real gets no
hyperparameters (they describe a generative model) unless --force. An image
that looks generated gets a table: each hyperparameter's predicted value and
probability, and the regressed raw value of each continuous hyperparameter
where eval.py has fitted the regression stage (clipped to the range of the
fold's training GMs, marked when it leaves the predicted bin).

The model and the image size come from the fold's config.json; --config is
optional and, if given, must agree with it (the error names each field).
Images are decoded exactly as training decodes them; a folder accepts every
format the data builder accepts (PNG, JPEG, WebP, BMP, TIFF, ...). Exit
status: 0 when every image was read, 1 when some could not be (each is
listed with its reason, the others are still predicted), 2 for a usage
error or a missing fold. Library: lgpn_jax/evaluation/predict.py
(``lgpn_jax.predict`` returns the same report as a dict).
"""

import sys

from absl import flags

from lgpn_jax import cli


def define(fv, argv):
  cli.config_file(fv, argv)
  flags.DEFINE_string('workdir', None, 'Training work directory holding '
                      'fold<k>/.', flag_values=fv)
  flags.DEFINE_integer('fold', None, 'Fold whose model to use, 1-4 (default: '
                       'config.fold, or the only fold in --workdir).',
                       flag_values=fv)
  flags.DEFINE_string('image', None, 'An image file or a folder of images.',
                      flag_values=fv)
  flags.DEFINE_string('out', None, 'Also write the report to this .json or '
                      '.csv file.', flag_values=fv)
  flags.DEFINE_bool('force', False, 'Show hyperparameters for images that '
                    'look real too.', flag_values=fv)
  flags.DEFINE_integer('batch_size', 16, 'Images per forward pass.',
                       flag_values=fv)


def body(fv):
  cli.required(fv, 'workdir', 'image')
  from lgpn_jax import run
  config = fv.config
  fold = fv.fold
  if fold is None and config is not None:
    fold = int(config.fold)
  return run.predict(config, fv.workdir, fold, fv.image, force=fv.force,
                     out_path=fv.out, batch_size=fv.batch_size)


def main(argv=None) -> int:
  return cli.run([sys.argv[0]] + list(sys.argv[1:] if argv is None else argv),
                 __doc__, define, body, compiles=True)


if __name__ == '__main__':
  sys.exit(main())
