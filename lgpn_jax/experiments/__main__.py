r"""Run the paper's and the rebuttal's experiments (lgpn_jax/experiments).

usage:
  python -m lgpn_jax.experiments list [--size=full]
  python -m lgpn_jax.experiments run --experiment=NAME --workdir=DIR \
      [--size=quick|full] [--variant=V,...] [--fold=K,...] \
      [--data_dir=DIR] [--manual_dir=/path/to/RED140] [--override=field=value]
  python -m lgpn_jax.experiments print-jobs --experiment=NAME --workdir=DIR ...
  python -m lgpn_jax.experiments table --experiment=NAME --workdir=DIR ...

run: trains and evaluates every fold of every variant of the experiment in
order (one host; a finished fold is skipped, an interrupted one resumes), each
into <workdir>/<variant>/fold<k>/, then writes the table
<workdir>/tables/<NAME>.md (.csv, .tex, .json): mean +- std over folds, how
many folds finished, and the authors' reported numbers as reference rows.
--variant / --fold run a part (one job of an array). print-jobs prints a
bash job-array script, one line per fold x variant, and the table command to
run after them. table writes the table from what is finished. --size=quick
runs a tiny model for a few steps on the built-in synthetic data (CPU,
minutes; numbers meaningless); full is the RED140 run. --override sets any
config field of every variant (repeatable), e.g. --override=train.batch_size=128.
"""

import sys

from absl import flags

from lgpn_jax import cli

COMMANDS = ('list', 'run', 'print-jobs', 'table')


def define(fv, argv):
  del argv
  flags.DEFINE_string('experiment', None, 'Experiment name (list shows them).',
                      flag_values=fv)
  flags.DEFINE_string('workdir', None, 'Directory of the variants\' folds and '
                      'the tables.', flag_values=fv)
  flags.DEFINE_enum('size', 'full', ['quick', 'full'], 'quick: tiny model, '
                    'synthetic data, a few steps; full: RED140.',
                    flag_values=fv)
  flags.DEFINE_list('variant', [], 'Only these variants (names).',
                    flag_values=fv)
  flags.DEFINE_list('fold', [], 'Only these folds.', flag_values=fv)
  flags.DEFINE_string('data_dir', None, 'TFDS data dir of the built data set '
                      '(config.data.data_dir).', flag_values=fv)
  flags.DEFINE_string('manual_dir', None, 'RED140 images for the first build '
                      '(config.data.manual_dir).', flag_values=fv)
  flags.DEFINE_multi_string('override', [], 'field=value set in every '
                            'variant\'s config (repeatable).', flag_values=fv)


def _overrides(fv):
  from lgpn_jax.experiments import spec
  out = [spec.parse_override(o) for o in fv.override]
  for name in ('data_dir', 'manual_dir'):
    if fv[name].value:
      out.append((f'data.{name}', fv[name].value))
  return out


def _flags_for_jobs(fv) -> list[str]:
  out = [f'--{n}={fv[n].value}' for n in ('data_dir', 'manual_dir')
         if fv[n].value]
  return out + [f'--override={o}' for o in fv.override]


def make_body(command):
  def body(fv):
    from lgpn_jax.experiments import catalog, plan, results, runner
    if command == 'list':
      done, total = set(), 0.0
      for name in catalog.NAMES:
        exp = catalog.get(name)
        est = plan.estimate(exp, fv.size)
        total += plan.estimate(exp, fv.size, skip=frozenset(done))['gpu_hours']
        done |= {v.name for v in exp.variants()}
        print(f'{name}: {est["variants"]} variant(s) x {est["folds"]} '
              f'fold(s), {est["images"] / 1e6:.1f} M training images; '
              f'~{est["gpu_hours"]:.0f} GPU-h (estimate)\n  {exp.what}')
      print(f'all in one workdir: {len(done)} distinct variants, '
            f'~{total:.0f} GPU-h (estimate at {plan.TRAIN_IMAGES_PER_SECOND:.0f}'
            f' training images/s; see lgpn_jax/experiments/plan.py)')
      return 0
    cli.required(fv, 'experiment', 'workdir')
    exp = catalog.get(fv.experiment)
    if command == 'print-jobs':
      print(runner.job_script(exp, fv.workdir, fv.size, _flags_for_jobs(fv)),
            end='')
      return 0
    overrides = _overrides(fv)
    if command == 'table':
      paths = results.write(exp, fv.workdir, fv.size)
      with open(paths['md']) as f:
        print(f.read(), end='')
      print(f'saved {", ".join(paths.values())}')
      return 0
    folds = [int(k) for k in fv.fold]
    out = runner.run(exp, fv.workdir, fv.size, variants=fv.variant or None,
                     folds=folds or None, overrides=overrides)
    with open(out['table']['md']) as f:
      print(f.read(), end='')
    return 0
  return body


def main(argv=None) -> int:
  argv = list(sys.argv[1:] if argv is None else argv)
  command = argv[0] if argv and not argv[0].startswith('-') else None
  if command is None or command not in COMMANDS:
    if command is None and any(a in cli.HELP for a in argv):
      print(__doc__)
      return 0
    print(f'error: the first argument must be a command: '
          f'{", ".join(COMMANDS)} (--help shows the usage)', file=sys.stderr)
    return 2
  return cli.run([f'{sys.argv[0]} {command}'] + argv[1:], __doc__, define,
                 make_body(command), compiles=command == 'run')


if __name__ == '__main__':
  sys.exit(main())
