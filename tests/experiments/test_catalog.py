"""The experiment catalog without training: every experiment's configs build
and pass the task checks, variant names mean one config, tables come out of
fake fold reports with the reference rows, job arrays and the identity check."""

import shlex

import numpy as np

import pytest

from lgpn_jax import files, rundir, tasks
from lgpn_jax.experiments import catalog, layout, plan, results, runner, spec
from lgpn_jax.red140 import schema, selection


@pytest.mark.parametrize('name', catalog.NAMES)
@pytest.mark.parametrize('size', spec.SIZES)
def test_every_variant_config_builds_and_passes_the_task_checks(name, size):
  exp = catalog.get(name)
  assert exp.name == name and exp.rows and exp.what
  for variant in exp.variants():
    for fold in exp.folds(size):
      config = spec.build_config(variant, size, fold, (), exp.quick)
      assert config.fold == fold
      task = tasks.get(config)
      task.check()
      task.build_model(config.model)
      if size == 'quick':
        assert config.data.dataset == 'synthetic' and config.model.feature_dim < 64
        assert config.train.num_epochs == 0
        assert config.train.num_steps == spec.QUICK_STEPS


def test_a_variant_name_is_one_config_everywhere():
  seen = {}
  for name in catalog.NAMES:
    for v in catalog.get(name).variants():
      assert seen.setdefault(v.name, v) == v, v.name


def test_variant_overrides_change_what_they_say():
  from lgpn_jax.experiments.catalog import variants as v
  c = spec.build_config(v.ONE_LEVEL, 'full', 1)
  assert c.model.pool_sizes == (18,)
  c = spec.build_config(v.NODE_ONLY, 'full', 2)
  assert c.loss.hierarchy_weight == 0 and c.loss.artifact_weight == 0
  assert spec.build_config(v.TAU['0.35'], 'full', 1).graph.tau == 0.35
  assert spec.build_config(v.MISLABEL[5], 'full', 1).labels.mislabel_percent == 5
  c = spec.build_config(v.RED116_TRAIN['face'], 'quick', 1,
                        [('data.data_dir', '/d'), ('train.batch_size', 32)])
  assert c.selection.train_group == 'face' and c.data.data_dir == '/d'
  assert c.train.batch_size == 32 and c.model.dtype == 'float32'
  assert spec.parse_override('model.pool_sizes=(18,)') == ('model.pool_sizes',
                                                           (18,))
  assert spec.parse_override('data.data_dir=/x/y') == ('data.data_dir', '/x/y')
  with pytest.raises(ValueError, match='field=value'):
    spec.parse_override('nothing')


def test_unknown_names_fail_with_the_known_ones():
  with pytest.raises(ValueError, match='did you mean red116'):
    catalog.get('red16')
  with pytest.raises(ValueError, match='has no variant'):
    runner.run(catalog.get('tab2a_heads'), '/nonexistent', 'quick',
               variants=['gtc_mlpp'])
  with pytest.raises(ValueError, match='not \\[3\\]'):
    runner.run(catalog.get('tab2a_heads'), '/nonexistent', 'quick', folds=[3])


def _mark_done(workdir, variant, fold, step):
  files.write_json(dict(evaluated_step=step),
                   layout.done_path(workdir, variant, fold))


def _write_report(workdir, variant, fold, evaluation, steps, **summary):
  rep = dict(summary=dict(dict(loss_f1=0.8, loss_accuracy=0.8,
                               discrete_f1=0.7, discrete_accuracy=0.6,
                               continuous_l1=0.1), **summary),
             checkpoint_step=steps,
             continuous_fit=dict(correlation=dict(mean=0.5),
                                 determination=dict(mean=0.2),
                                 slope=dict(mean=0.9)),
             continuous_l1=dict(per_hyperparameter={
                 c: 0.1 * (i + 1) for i, c in
                 enumerate(schema.CONTINUOUS_COLUMNS)}),
             per_gm=[dict(gm=g, continuous_l1=v) for g, v in
                     (('A', 0.1), ('B', 0.2), ('C', 0.15))],
             coordinated_attack=dict(seen=dict(accuracy=0.9, auc=0.95,
                                               pd_at_far=0.5)))
  path = evaluation.path(layout.variant_dir(workdir, variant), fold)
  files.write_json(rep, path)
  return rep


def test_table_counts_finished_folds_and_adds_reference_rows(tmp_path):
  exp = catalog.get('tau_sensitivity')
  w = str(tmp_path)
  for k in (1, 3, 4):
    _mark_done(w, 'tau_0.35', k, 900)
  _write_report(w, 'tau_0.35', 1, spec.STANDARD, 900, loss_f1=0.8)
  _write_report(w, 'tau_0.35', 3, spec.STANDARD, 900, loss_f1=0.9)
  _write_report(w, 'tau_0.35', 4, spec.STANDARD, 400, loss_f1=0.1)  # stale.
  _write_report(w, 'tau_0.35', 2, spec.STANDARD, 900, loss_f1=0.1)  # no marker.
  table = results.make_table(exp, w, 'full')
  ours = {r.label: r for r in table.rows if not r.is_reference}
  r = ours['tau 0.35']
  assert (r.folds_done, r.folds_planned) == (2, 4)
  assert r.cells['loss_f1']['mean'] == pytest.approx(0.85)
  assert ours['tau 0.45 (LGPN)'].folds_done == 0
  refs = [r for r in table.rows if r.is_reference]
  assert [r.label for r in refs] == [f'tau {t}' for t in
                                     ('0.35', '0.45', '0.55', '0.65')]
  assert refs[0].cells['continuous_l1'] == 0.122
  assert refs[0].source == 'rebuttal R.10'
  paths = results.write(exp, w, 'full')
  assert paths['md'] == layout.table_stem(w, exp.name) + '.md'
  with open(paths['md']) as f:
    text = f.read()
  assert '2 of 4 folds' in text and '0 of 4 folds' in text and 'reported' in text


def test_pending_rows_say_why(tmp_path):
  table = results.make_table(catalog.get('bins'), str(tmp_path), 'full')
  pending = [r for r in table.rows if r.source.startswith('pending')]
  assert [r.label for r in pending] == ['2 bins', '4 bins']
  assert 'schema' in pending[0].source and pending[0].folds_done == 0


def test_red116_p_value_against_random_gt(tmp_path):
  exp = catalog.get('red116')
  w = str(tmp_path)
  for k in (1, 2):
    _mark_done(w, 'red116', k, 7)
    _mark_done(w, 'red116_random_gt', k, 7)
    _write_report(w, 'red116', k, spec.STANDARD, 7)
    base = _write_report(w, 'red116_random_gt', k, spec.STANDARD, 7)
    base['per_gm'] = [dict(gm=g, continuous_l1=v) for g, v in
                      (('A', 0.3), ('B', 0.35), ('C', 0.5))]
    files.write_json(base, spec.STANDARD.path(
        layout.variant_dir(w, 'red116_random_gt'), k))
  table = results.make_table(exp, w, 'full')
  lgpn = table.rows[0]
  from lgpn_jax.evaluation.parsing import fenpn
  want = fenpn.paired_t_p_value([0.1, 0.2, 0.15], [0.3, 0.35, 0.5])
  assert lgpn.cells['p_value'] == pytest.approx(dict(mean=want, std=0, n=2))
  assert lgpn.cells['slope']['mean'] == pytest.approx(0.9)
  assert 'p_value' not in table.rows[1].cells
  assert {r.label for r in table.rows if r.is_reference} == {'FEN-PN', 'LGPN'}


def test_per_hyperparameter_and_attack_cells(tmp_path):
  w = str(tmp_path)
  _mark_done(w, 'lgpn', 2, 7)
  _write_report(w, 'lgpn', 2, spec.STANDARD, 7)
  t = results.make_table(catalog.get('tab2b_per_hyperparameter'), w, 'full')
  assert t.rows[0].cells['params']['mean'] == pytest.approx(0.9)
  assert t.rows[2].cells == dict(layers=0.147, params=0.081,
                                 conv_layers=0.137, filters=0.149)
  _mark_done(w, 'lgpn_holdout', 1, 7)
  _write_report(w, 'lgpn_holdout', 1, spec.STANDARD, 7)
  t = results.make_table(catalog.get('coordinated_attack'), w, 'full')
  assert t.rows[0].cells['seen_auc']['mean'] == pytest.approx(0.95)


def test_evaluation_paths_per_kind(tmp_path):
  d = str(tmp_path)
  assert spec.STANDARD.path(d, 2) == rundir.eval_path(d, 2)
  assert spec.Evaluation('average', 4).path(d, 1).endswith(
      'fold1/eval_fold1_images4.json')
  assert spec.Evaluation('concat', 1).path(d, 1).endswith(
      'fold1/eval_fold1_concat.json')
  assert spec.Evaluation('test_group', test_group='face').path(d, 3).endswith(
      'fold3/eval_fold3_test-face.json')


def test_job_script_has_one_line_per_fold_and_variant():
  exp = catalog.get('tab2a_heads')
  n = 4 * len(exp.variants())                 # 4 folds of each variant.
  lines = runner.job_lines(exp, '/w', 'full', ['--manual_dir=/r d'])
  assert len(lines) == n
  words = shlex.split(lines[5])
  assert words[:4] == ['python', '-m', 'lgpn_jax.experiments', 'run']
  assert '--manual_dir=/r d' in words and '--variant=gtc_stacked_gcn' in words
  assert '--fold=2' in words
  script = runner.job_script(exp, '/w', 'full')
  assert script.count('lgpn_jax.experiments run') == n
  assert 'SLURM_ARRAY_TASK_ID' in script and 'experiments table' in script


def test_fold_identity_covers_the_selection_and_labels(tmp_path):
  """A fold trained with one selection or label setting is never resumed or
  evaluated under another (lgpn_jax/fold_identity.py), but another test
  group only changes what an evaluation scores."""
  from lgpn_jax import fold_identity
  from lgpn_jax.experiments.catalog import variants as v
  config = spec.build_config(v.RED116, 'quick', 1)
  fdir = rundir.fold_dir(str(tmp_path), 1)
  rundir.save_fold_files(fdir, config, np.eye(55))
  other = spec.build_config(v.RED116, 'quick', 1, [('eval.num_pairs', 7),
                                                  ('data.data_dir', '/x'),
                                                  ('selection.test_group',
                                                   'face')])
  assert fold_identity.check(other, fdir) == []
  for field, value in (('selection.holdout_percent', 20),
                       ('labels.permutation_seed', 3)):
    other = spec.build_config(v.RED116, 'quick', 1, [(field, value)])
    with pytest.raises(fold_identity.FoldMismatch, match=field):
      fold_identity.check(other, fdir)


def test_plan_counts_trainings_and_estimates_hours():
  exp = catalog.get('tab2a_heads')
  v = len(exp.variants())
  est = plan.estimate(exp, 'full')
  assert est['trainings'] == 4 * v and est['epochs'] == [60]
  # 60 epochs of each fold's training GMs (all but the test set's).
  gms = sum(len(selection.get(k).train) for k in range(1, 5))
  assert est['images'] == v * 60 * gms * plan.IMAGES_PER_GM
  hours = (est['images'] / plan.TRAIN_IMAGES_PER_SECOND
           + 4 * v * plan.EVAL_IMAGES / plan.EVAL_IMAGES_PER_SECOND) / 3600
  assert est['gpu_hours'] == pytest.approx(hours)
  shared = plan.estimate(exp, 'full', skip=frozenset({'lgpn'}))
  assert shared['trainings'] == 4 * (v - 1)
  assert shared['images'] == est['images'] * (v - 1) / v
  quick = plan.estimate(exp, 'quick')
  assert quick['images'] == v * spec.QUICK_STEPS * spec.QUICK['train.batch_size']
