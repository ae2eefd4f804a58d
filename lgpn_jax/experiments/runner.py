"""Running an experiment: every fold of every variant, resumable.

``run(exp, workdir, size)`` goes through the variants and folds in order
(``variants`` / ``folds`` pick a subset: one job of a job array) and, per
fold:
  1. builds the variant's config (``spec.build_config``) and checks the fold
     directory's identity (``lgpn_jax/fold_identity.py``): a ``config.json``
     already there must define the same fold, else the run stops with the
     differing fields (a folder never silently mixes two configs);
  2. unless the fold's marker says it finished before, trains it
     (``lgpn_jax.run.train_and_evaluate``: resumes from the latest
     checkpoint, returns at once when already trained, then writes the
     standard evaluation) and writes the marker (``layout.done_path``: the
     checkpoint step the fold's evaluations score);
  3. runs the evaluations the experiment needs that are missing or score
     another step (``results.finished``), or skips the fold: averaging
     (``run.evaluate(num_images=k)``), the concatenation head
     (``multi_image.evaluate_concat``, every k of the fold at once) and other
     test groups (``evaluate.evaluate_fold(tag=...)``).
Then it writes the table (``results.write``). ``job_script`` prints the
same work as a job array, one line per fold x variant, and the table
command to run after them.
"""

from __future__ import annotations

import shlex
import time
from typing import Any, Callable, Sequence

from lgpn_jax import files, fold_identity, rundir
from lgpn_jax import run as run_lib
from lgpn_jax.evaluation.parsing import evaluate, multi_image
from lgpn_jax.experiments import layout, results, spec


def _evaluate(evaluation: spec.Evaluation, config, vdir: str, fold: int,
              ks: Sequence[int]) -> None:
  """One missing evaluation (``ks``: every concat k missing in the fold)."""
  if evaluation.kind in ('standard', 'average'):
    run_lib.evaluate(config, vdir, fold=fold, num_images=evaluation.num_images)
  elif evaluation.kind == 'concat':
    multi_image.evaluate_concat(config, vdir, fold, ks)
  else:
    c = config.copy_and_resolve_references()
    c.selection.test_group = evaluation.test_group
    evaluate.evaluate_fold(c, vdir, fold, tag=evaluation.tag)


def run_fold(exp: spec.Experiment, variant: spec.Variant, fold: int,
             workdir: str, size: str,
             overrides: Sequence[tuple[str, Any]] = (),
             log: Callable[[str], None] = print) -> str:
  """Trains and evaluates one fold of one variant; returns what it did:
  'skipped' (finished before) or 'done'."""
  config = spec.build_config(variant, size, fold, overrides, exp.quick)
  config.train.run_evaluation = True
  vdir = layout.variant_dir(workdir, variant.name)
  fold_identity.check(config, rundir.fold_dir(vdir, fold), action='train')
  prefix = f'[{exp.name}] {variant.name} fold {fold}'
  start = time.perf_counter()
  step = results.evaluated_step(workdir, variant.name, fold)
  trained = step is None
  if trained:   # trains (resuming, or at once when trained), then evaluates.
    result = run_lib.train_and_evaluate(config, vdir)
    step = files.read_json(result.eval_path)['checkpoint_step']
    files.write_json(dict(variant=variant.name, fold=fold,
                          final_step=result.step, evaluated_step=step),
                     layout.done_path(workdir, variant.name, fold))
  todo = [e for e in exp.evaluations(variant)
          if not results.finished(e.path(vdir, fold), step)]
  if not trained and not todo:
    log(f'{prefix}: finished before, skipped')
    return 'skipped'
  concat = [e.num_images for e in todo if e.kind == 'concat']
  for e in todo:
    if e.kind == 'concat' and e.num_images != concat[0]:
      continue     # one call evaluates every k of the concatenation head.
    _evaluate(e, config, vdir, fold, concat)
  log(f'{prefix}: done in {time.perf_counter() - start:.0f} s')
  return 'done'


def run(exp: spec.Experiment, workdir: str, size: str = 'quick', *,
        variants: Sequence[str] | None = None,
        folds: Sequence[int] | None = None,
        overrides: Sequence[tuple[str, Any]] = (),
        log: Callable[[str], None] = print) -> dict:
  """Runs the selected folds x variants in order, then writes the table.
  Returns {'done': n, 'skipped': n, 'table': {format: path}}."""
  known = {v.name for v in exp.variants()}
  unknown = sorted(set(variants or ()) - known)
  if unknown:
    raise ValueError(f'{exp.name} has no variant {unknown}; its variants: '
                     f'{sorted(known)}')
  bad = sorted(set(folds or ()) - set(exp.folds(size)))
  if bad:
    raise ValueError(f'{exp.name} ({size}) runs folds {exp.folds(size)}, '
                     f'not {bad}')
  counts = dict(done=0, skipped=0)
  jobs = [(v, k) for v in exp.variants() for k in exp.folds(size)
          if (not variants or v.name in variants) and (not folds or k in folds)]
  for i, (variant, fold) in enumerate(jobs, 1):
    log(f'[{exp.name}] job {i} of {len(jobs)}: {variant.name} fold {fold}')
    counts[run_fold(exp, variant, fold, workdir, size, overrides, log)] += 1
  paths = results.write(exp, workdir, size)
  log(f'[{exp.name}] {counts["done"]} run, {counts["skipped"]} skipped; '
      f'table: {paths["md"]}')
  return dict(counts, table=paths)


def job_lines(exp: spec.Experiment, workdir: str, size: str,
              extra_flags: Sequence[str] = ()) -> list[str]:
  """One command per fold x variant."""
  base = ['python', '-m', 'lgpn_jax.experiments', 'run',
          f'--experiment={exp.name}', f'--workdir={workdir}', f'--size={size}',
          *extra_flags]
  return [shlex.join(base + [f'--variant={v.name}', f'--fold={k}'])
          for v in exp.variants() for k in exp.folds(size)]


def job_script(exp: spec.Experiment, workdir: str, size: str,
               extra_flags: Sequence[str] = ()) -> str:
  """A bash job-array script: job i runs line i of JOBS (SLURM's
  ``SLURM_ARRAY_TASK_ID`` or the first argument)."""
  lines = job_lines(exp, workdir, size, extra_flags)
  table = shlex.join(['python', '-m', 'lgpn_jax.experiments', 'table',
                      f'--experiment={exp.name}', f'--workdir={workdir}',
                      f'--size={size}', *extra_flags])
  body = '\n'.join(f'  {shlex.quote(line)}' for line in lines)
  return (f'#!/usr/bin/env bash\n'
          f'# {exp.name} ({size}): {len(exp.variants())} variant(s) x '
          f'{len(exp.folds(size))} fold(s) = {len(lines)} jobs.\n'
          f'# Submit as an array of {len(lines)} (e.g. sbatch '
          f'--array=0-{len(lines) - 1} this.sh) or run "bash this.sh I" for '
          f'I in 0..{len(lines) - 1};\n# when all are done, write the table:\n'
          f'#   {table}\n'
          f'set -euo pipefail\nJOBS=(\n{body}\n)\n'
          'eval "${JOBS[${SLURM_ARRAY_TASK_ID:-$1}]}"\n')

