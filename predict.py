r"""Parse one image (or every image of a folder): which GM hyperparameters made it?

usage: python predict.py --config=configs/default.py --workdir=runs/lgpn
           --fold=1 --image=path/to/image.png
       python predict.py ... --image=path/to/folder   # every .png/.jpg/.jpeg

Loads the fold's checkpoint from <workdir>/fold<k>/ and prints one table per
image: each hyperparameter's predicted value and probability, plus the
regressed raw value of each continuous hyperparameter where eval.py has
fitted the regression stage (lgpn_jax/evaluation/predict.py). Exit status: 0
when every image was parsed, 1 when some could not be read, 2 for a usage
error or a missing checkpoint.
"""

import sys

from absl import flags

from lgpn_jax import cli


def define(fv, argv):
  cli.config_file(fv, argv)
  flags.DEFINE_string('workdir', None, 'Training work directory holding '
                      'fold<k>/.', flag_values=fv)
  flags.DEFINE_integer('fold', None, 'Fold whose model to use, 1-4 (default: '
                       'config.fold).', flag_values=fv)
  flags.DEFINE_string('image', None, 'An image file or a folder of images.',
                      flag_values=fv)
  flags.DEFINE_integer('batch_size', 16, 'Images per forward pass.',
                       flag_values=fv)


def body(fv):
  cli.required(fv, 'config', 'workdir', 'image')
  from lgpn_jax.evaluation import predict
  config = fv.config
  fold = fv.fold if fv.fold is not None else int(config.fold)
  return predict.run(config, fv.workdir, fold, fv.image,
                     batch_size=fv.batch_size)


def main(argv=None) -> int:
  return cli.run([sys.argv[0]] + list(sys.argv[1:] if argv is None else argv),
                 __doc__, define, body)


if __name__ == '__main__':
  sys.exit(main())
