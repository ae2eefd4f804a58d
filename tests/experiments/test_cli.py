"""python -m lgpn_jax.experiments: commands, flags and one-line errors."""

import os
import subprocess
import sys

from lgpn_jax.experiments import __main__ as cmd
from lgpn_jax.experiments import catalog, layout

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def test_help_runs_without_heavy_imports():
  out = subprocess.run(
      [sys.executable, '-c', 'import sys; from lgpn_jax.experiments import '
       '__main__ as m; code = m.main(["run", "--help"]); '
       'assert "jax" not in sys.modules and "tensorflow" not in sys.modules; '
       'sys.exit(code)'], cwd=REPO, capture_output=True, text=True, check=True)
  assert 'print-jobs' in out.stdout and '--experiment' in out.stdout


def test_list_names_every_experiment_and_the_total(capsys):
  assert cmd.main(['list', '--size=quick']) == 0
  out = capsys.readouterr().out
  for name in catalog.NAMES:
    assert f'{name}:' in out
  distinct = {v.name for name in catalog.NAMES
              for v in catalog.get(name).variants()}
  assert f'all in one workdir: {len(distinct)} distinct variants' in out


def test_print_jobs_carries_the_data_flags(capsys):
  assert cmd.main(['print-jobs', '--experiment=tau_sensitivity',
                   '--workdir=/w', '--manual_dir=/red', '--override=a.b=1']) == 0
  out = capsys.readouterr().out
  runs = [l for l in out.splitlines() if 'experiments run' in l]
  assert len(runs) == 16
  assert all('--manual_dir=/red' in l and '--override=a.b=1' in l for l in runs)
  assert out.startswith('#!/usr/bin/env bash')


def test_table_writes_from_what_is_finished(tmp_path, capsys):
  assert cmd.main(['table', '--experiment=bins', f'--workdir={tmp_path}',
                   '--size=quick']) == 0
  out = capsys.readouterr().out
  assert '0 of 1 folds' in out and 'pending' in out
  for ext in ('md', 'csv', 'tex', 'json'):
    assert os.path.exists(f'{layout.table_stem(str(tmp_path), "bins")}.{ext}')


def test_errors_are_one_line(capsys):
  assert cmd.main(['run', '--workdir=/w']) == 2
  assert 'error: --experiment required' in capsys.readouterr().err
  assert cmd.main(['launch']) == 2
  assert 'must be a command' in capsys.readouterr().err
  assert cmd.main(['run', '--experiment=tab9', '--workdir=/w']) == 2
  err = capsys.readouterr().err
  assert err.startswith('error: unknown experiment') and len(
      err.strip().splitlines()) == 1
  assert cmd.main(['run', '--experiment=bins', '--workdir=/w',
                   '--override=oops']) == 2
  assert 'field=value' in capsys.readouterr().err
