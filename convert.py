r"""Import the authors' PyTorch LGPN weights: a fold folder (or a Flax checkpoint).

usage: python convert.py --weights=best_model.pth --trust_pickle \
           --config=configs/released.py --workdir=runs/released --fold=1
       python convert.py --weights=best_model.pth --out=/tmp/lgpn_released

Reads the .pth (PyTorch needed for that step only) or the same tensors as
.safetensors (no PyTorch needed) and maps every tensor onto the model of
--config (lgpn_jax/models/convert.py: shapes checked, report of mapped /
ignored / missing / unexpected keys).

--workdir writes a complete fold folder, <workdir>/fold<k>/ (config.json,
the fold's adjacency.npy, the checkpoint, imported_weights.json; see
lgpn_jax/evaluation/imported_fold.py), which eval.py and predict.py read as
they read a trained fold:
    python predict.py --workdir=runs/released --fold=1 --image=photo.jpg
    python eval.py --config=configs/released.py --workdir=runs/released --fold=1
The authors trained one model per fold: import each into its own --fold.
--out instead writes only {'params', 'batch_stats'} as an orbax
StandardCheckpointer directory (--non_strict: missing / unexpected keys are
only reported there).
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
  flags.DEFINE_string('workdir', None, 'Write the fold folder '
                      '<workdir>/fold<k>/ (what eval.py and predict.py '
                      'read).', flag_values=fv)
  flags.DEFINE_integer('fold', None, 'With --workdir: the fold the weights '
                       'were trained for, 1-4 (default: config.fold).',
                       flag_values=fv)
  flags.DEFINE_string('out', None, 'Instead: write only the variables as an '
                      'orbax directory (created).', flag_values=fv)
  flags.DEFINE_bool('non_strict', False, 'With --out: only report missing / '
                    'unexpected keys.', flag_values=fv)
  flags.DEFINE_bool('trust_pickle', False, 'Allow Python objects in the .pth '
                    '(trusted files only).', flag_values=fv)
  flags.DEFINE_bool('overwrite', False, 'Replace the fold folder / --out if '
                    'it exists.', flag_values=fv)


def body(fv):
  cli.required(fv, 'weights')
  if (fv.workdir is None) == (fv.out is None):
    raise ValueError('give exactly one of --workdir (a fold folder) and '
                     '--out (variables only)')
  if fv.workdir is not None:
    if fv.non_strict:
      raise ValueError('--non_strict only applies to --out: a fold must '
                       'have every parameter')
    from lgpn_jax import rundir
    from lgpn_jax.evaluation import imported_fold
    out, report = imported_fold.write_fold(
        fv.weights, fv.workdir, fv.config, fv.fold,
        trust_pickle=fv.trust_pickle, overwrite=fv.overwrite)
    print(report.summary())
    print(f'wrote the fold folder {out}\nnext: python predict.py '
          f'--workdir={fv.workdir} --fold={rundir.fold_of(out)} --image=PATH')
    return 0
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
