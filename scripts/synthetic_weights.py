r"""Random weights in the layout of the authors' LGP_Net checkpoint.

  python scripts/synthetic_weights.py --config=configs/released_tiny.py \
      --out=runs/tiny_weights.safetensors [--seed=0]

Writes a .safetensors file with every key the reference's forward pass uses
(names as in its state_dict, "module." prefix included), shaped for the
model of --config (lgpn_jax/models/synthetic_weights.py). It stands in for
the authors' file to try convert.py -> predict.py / eval.py end to end; its
answers mean nothing.
"""

import os
import sys

from absl import flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from lgpn_jax import cli  # noqa: E402


def define(fv, argv):
  cli.config_file(fv, argv, default='configs/released_tiny.py')
  flags.DEFINE_string('out', None, 'The .safetensors file to write.',
                      flag_values=fv)
  flags.DEFINE_integer('seed', 0, 'Random seed.', flag_values=fv)


def body(fv):
  cli.required(fv, 'out')
  from lgpn_jax.models import synthetic_weights
  tensors = synthetic_weights.random_state_dict(fv.config, fv.seed)
  os.makedirs(os.path.dirname(os.path.abspath(fv.out)), exist_ok=True)
  path = synthetic_weights.write_safetensors(fv.out, tensors)
  print(f'wrote {len(tensors)} tensors to {path}')
  return 0


if __name__ == '__main__':
  sys.exit(cli.run(sys.argv, __doc__, define, body))
