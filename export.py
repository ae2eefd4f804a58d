r"""Export a fold's inference function as a serialized StableHLO artifact.

usage: python export.py --workdir=runs/quickstart --fold=1
       python export.py --workdir=runs/lgpn --fold=1 --out=lgpn_fold1.jax_export \
           --platforms=cpu,cuda

Writes <workdir>/fold<k>/inference.jax_export (or --out) with jax.export: the
model in inference mode with its weights and graph inside, input float32
[batch, size, size, 3] in [-1, 1] with a symbolic batch dimension, outputs
probabilities [batch, 55], p_generated [batch] and continuous_features
(lgpn_jax/evaluation/export.py), and a .json beside it describing it. Load
it anywhere JAX runs, without this repository:
    exported = jax.export.deserialize(open(path, 'rb').read())
    outputs = exported.call(images)
The model and image size come from the fold's config.json (--config is
optional and must agree with it).
"""

import sys

from absl import flags

from lgpn_jax import cli


def define(fv, argv):
  cli.config_file(fv, argv)
  flags.DEFINE_string('workdir', None, 'Work directory holding fold<k>/.',
                      flag_values=fv)
  flags.DEFINE_integer('fold', None, 'Fold to export, 1-4 (default: '
                       'config.fold, or the only fold in --workdir).',
                       flag_values=fv)
  flags.DEFINE_string('out', None, 'Artifact path (default: '
                      '<workdir>/fold<k>/inference.jax_export).',
                      flag_values=fv)
  flags.DEFINE_list('platforms', None, 'Platforms to lower for, e.g. '
                    'cpu,cuda (default: this machine\'s).', flag_values=fv)


def body(fv):
  cli.required(fv, 'workdir')
  from lgpn_jax.evaluation import export, predict
  fold = fv.fold
  if fold is None:
    fold = (int(fv.config.fold) if fv.config is not None
            else predict.only_fold(fv.workdir))
  path = export.export_fold(fv.workdir, fold, config=fv.config, out=fv.out,
                            platforms=fv.platforms)
  print(f'wrote {path} (and {path}.json)')
  return 0


def main(argv=None) -> int:
  return cli.run([sys.argv[0]] + list(sys.argv[1:] if argv is None else argv),
                 __doc__, define, body)


if __name__ == '__main__':
  sys.exit(main())
