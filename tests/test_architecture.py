"""The layering rules of docs/ARCHITECTURE.md, read off the code with ``ast``.

Every import of the project's own modules (top-level or inside a function)
counts. Units are the packages of lgpn_jax (red140, models, perf, losses,
train, evaluation, tasks, benchmarks, experiments), the single modules at
lgpn_jax's root and the input_pipeline package.
"""

import ast
import collections
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ('lgpn_jax', 'input_pipeline')

# unit -> the units it may import (docs/ARCHITECTURE.md has the same table).
ALLOWED = {
    'lgpn_jax': {'lgpn_jax.run'},
    'lgpn_jax.red140': set(),
    'lgpn_jax.models': set(),
    'lgpn_jax.perf': set(),
    'lgpn_jax.cli': {'lgpn_jax.provenance', 'lgpn_jax.compile_cache'},
    'lgpn_jax.provenance': set(),
    'lgpn_jax.compile_cache': set(),
    'lgpn_jax.files': set(),
    'lgpn_jax.mesh': set(),
    'lgpn_jax.rundir': {'lgpn_jax.red140', 'lgpn_jax.files'},
    'lgpn_jax.checkpoint': {'lgpn_jax.rundir'},
    'lgpn_jax.fold_identity': {'lgpn_jax.rundir'},
    'lgpn_jax.losses': {'lgpn_jax.red140', 'lgpn_jax.models'},
    'input_pipeline': {'lgpn_jax.red140', 'lgpn_jax.cli', 'lgpn_jax.files'},
    'lgpn_jax.data': {'input_pipeline'},
    'lgpn_jax.train': {'lgpn_jax.mesh', 'lgpn_jax.rundir', 'lgpn_jax.checkpoint',
                       'lgpn_jax.data', 'lgpn_jax.perf', 'lgpn_jax.losses',
                       'lgpn_jax.files', 'lgpn_jax.fold_identity'},
    'lgpn_jax.evaluation': {'lgpn_jax.red140', 'lgpn_jax.models',
                            'lgpn_jax.mesh', 'lgpn_jax.rundir', 'lgpn_jax.files',
                            'lgpn_jax.fold_identity',
                            'lgpn_jax.checkpoint', 'lgpn_jax.data',
                            'lgpn_jax.provenance', 'input_pipeline'},
    'lgpn_jax.tasks': {'lgpn_jax.red140', 'lgpn_jax.models', 'lgpn_jax.losses',
                       'lgpn_jax.evaluation', 'lgpn_jax.rundir',
                       'input_pipeline'},
    'lgpn_jax.run': {'lgpn_jax.tasks', 'lgpn_jax.train', 'lgpn_jax.evaluation',
                     'lgpn_jax.data',
                     'lgpn_jax.rundir', 'lgpn_jax.files',
                     'lgpn_jax.fold_identity'},
    'lgpn_jax.experiments': {'lgpn_jax.tasks', 'lgpn_jax.train',
                             'lgpn_jax.evaluation', 'lgpn_jax.run',
                             'lgpn_jax.rundir', 'lgpn_jax.files',
                             'lgpn_jax.fold_identity', 'lgpn_jax.red140',
                             'lgpn_jax.cli'},
    'lgpn_jax.benchmarks': {'lgpn_jax.tasks', 'lgpn_jax.train',
                            'lgpn_jax.models', 'lgpn_jax.perf',
                            'lgpn_jax.red140', 'lgpn_jax.mesh',
                            'lgpn_jax.checkpoint', 'input_pipeline'},
}
TASK_NAMES = {'model_parsing', 'detection', 'attribution'}
MAX_LINES = 450


def _modules():
  """{dotted module name: path} of every module of the packages."""
  out = {}
  for pkg in PACKAGES:
    for path in sorted((ROOT / pkg).rglob('*.py')):
      parts = path.relative_to(ROOT).with_suffix('').parts
      if parts[-1] == '__init__':
        parts = parts[:-1]
      out['.'.join(parts)] = path
  return out


MODULES = _modules()


def _resolve(name: str) -> str | None:
  """The project module an import names (a package, module or attribute)."""
  while name:
    if name in MODULES:
      return name
    name = name.rpartition('.')[0]
  return None


def _imports(path: pathlib.Path):
  """Every (project module, line) a file imports, at any depth."""
  for node in ast.walk(ast.parse(path.read_text())):
    if isinstance(node, ast.Import):
      names = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
      names = [f'{node.module}.{a.name}' for a in node.names]
    else:
      continue
    for name in names:
      target = _resolve(name)
      if target:
        yield target, node.lineno


def unit_of(module: str) -> str:
  if module.startswith('input_pipeline'):
    return 'input_pipeline'
  parts = module.split('.')
  return '.'.join(parts[:2]) if len(parts) > 1 else module


def _graph():
  graph = collections.defaultdict(set)
  for module, path in MODULES.items():
    for target, _ in _imports(path):
      if target != module and not module.startswith(target + '.'):
        graph[module].add(target)
  return graph


def _cycle(graph) -> list[str] | None:
  """A cycle of ``graph`` as a list of nodes, or None."""
  state, stack = {}, []

  def visit(node):
    state[node] = 'open'
    stack.append(node)
    for nxt in sorted(graph.get(node, ())):
      if state.get(nxt) == 'open':
        return stack[stack.index(nxt):] + [nxt]
      if nxt not in state:
        found = visit(nxt)
        if found:
          return found
    state[node] = 'done'
    stack.pop()
    return None

  for node in sorted(graph):
    if node not in state:
      found = visit(node)
      if found:
        return found
  return None


def test_every_unit_has_a_rule():
  units = {unit_of(m) for m in MODULES}
  assert units == set(ALLOWED), units ^ set(ALLOWED)


def test_no_module_cycle():
  cycle = _cycle(_graph())
  assert cycle is None, ' -> '.join(cycle)


def test_no_unit_cycle():
  units = collections.defaultdict(set)
  for module, targets in _graph().items():
    for t in targets:
      if unit_of(t) != unit_of(module):
        units[unit_of(module)].add(unit_of(t))
  cycle = _cycle(units)
  assert cycle is None, ' -> '.join(cycle)


def test_units_import_only_what_their_layer_allows():
  bad = []
  for module, path in MODULES.items():
    unit = unit_of(module)
    for target, line in _imports(path):
      other = unit_of(target)
      if other not in (unit, 'lgpn_jax') and other not in ALLOWED[unit]:
        bad.append(f'{path.relative_to(ROOT)}:{line} imports {target}')
  assert not bad, '\n'.join(bad)


@pytest.mark.parametrize('pair', [('lgpn_jax.train', 'lgpn_jax.evaluation'),
                                  ('lgpn_jax.evaluation', 'lgpn_jax.train')])
def test_train_and_evaluation_never_import_each_other(pair):
  assert pair[1] not in ALLOWED[pair[0]]


def test_tensorflow_only_through_input_pipeline_tf_runtime():
  bad = []
  for pkg in ('lgpn_jax', 'input_pipeline'):
    for path in sorted((ROOT / pkg).rglob('*.py')):
      if path.name == 'tf_runtime.py':
        continue
      for node in ast.walk(ast.parse(path.read_text())):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module or ''] if isinstance(node, ast.ImportFrom)
                 else [])
        bad += [f'{path.relative_to(ROOT)}:{node.lineno} imports {n}'
                for n in names if n.split('.')[0] in ('tensorflow',
                                                      'tensorflow_datasets')]
  assert not bad, '\n'.join(bad)


def test_tf_runtime_hides_gpus_before_anything_else_uses_tensorflow():
  body = ast.parse((ROOT / 'input_pipeline' / 'tf_runtime.py').read_text()).body
  code = [ast.unparse(n) for n in body
          if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
  i = code.index('import tensorflow as tf')
  assert code[i + 1] == "tf.config.set_visible_devices([], 'GPU')"


def test_no_branch_on_the_task_name_outside_tasks():
  bad = []
  for module, path in MODULES.items():
    if module.startswith('lgpn_jax.tasks'):
      continue
    for node in ast.walk(ast.parse(path.read_text())):
      if isinstance(node, ast.Compare):
        consts = [c.value for c in ast.walk(node)
                  if isinstance(c, ast.Constant)]
        if TASK_NAMES & {c for c in consts if isinstance(c, str)}:
          bad.append(f'{path.relative_to(ROOT)}:{node.lineno}')
  assert not bad, 'task-name comparisons: ' + ', '.join(bad)


def test_no_module_over_the_size_limit():
  long = {str(p.relative_to(ROOT)): n for p in MODULES.values()
          if (n := len(p.read_text().splitlines())) > MAX_LINES}
  assert not long, long


def test_the_rules_catch_a_cycle_and_a_forbidden_import():
  assert _cycle({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == ['a', 'b', 'c', 'a']
  assert _cycle({'a': {'b'}, 'b': set()}) is None
  assert 'lgpn_jax.train' not in ALLOWED['lgpn_jax.models']
