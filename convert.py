r"""Convert the authors' PyTorch LGPN weights to a Flax checkpoint.

usage: python convert.py --weights=best_model.pth --out=/tmp/lgpn_released
           [--config=configs/released.py] [--trust_pickle] [--non_strict]
           [--overwrite]

Reads the .pth (PyTorch needed for that step only) or the same tensors as
.safetensors (no PyTorch needed), maps every tensor onto
the model of --config (lgpn_jax/models/convert.py: shapes checked, report of
mapped / ignored / missing / unexpected keys) and writes
{'params', 'batch_stats'} as an orbax StandardCheckpointer directory.
--trust_pickle is needed for the authors' checkpoints, which pickle their LR
scheduler besides the tensors: use it only for files you trust.
"""

import sys

from absl import flags

from lgpn_jax import cli


def define(fv, argv):
  cli.config_file(fv, argv, default='configs/released.py')
  flags.DEFINE_string('weights', None, "The authors' checkpoint: .pth "
                      '(needs PyTorch) or .safetensors.', flag_values=fv)
  flags.DEFINE_string('out', None, 'Output directory (created).',
                      flag_values=fv)
  flags.DEFINE_bool('non_strict', False, 'Only report missing / unexpected '
                    'keys.', flag_values=fv)
  flags.DEFINE_bool('trust_pickle', False, 'Allow Python objects in the .pth '
                    '(trusted files only).', flag_values=fv)
  flags.DEFINE_bool('overwrite', False, 'Replace --out if it exists.',
                    flag_values=fv)


def body(fv):
  cli.required(fv, 'weights', 'out')
  from lgpn_jax.models import convert
  out, report = convert.convert_file(
      fv.weights, fv.out, fv.config, strict=not fv.non_strict,
      trust_pickle=fv.trust_pickle, overwrite=fv.overwrite)
  print(report.summary())
  print(f'wrote {out}')
  return 0


def main(argv=None) -> int:
  return cli.run([sys.argv[0]] + list(sys.argv[1:] if argv is None else argv),
                 __doc__, define, body)


if __name__ == '__main__':
  sys.exit(main())
