"""Import the authors' PyTorch LGPN weights (``LGP_Net`` state_dict) into Flax.

  variables, report = convert_state_dict(state_dict, config)  # numpy in/out
  print(report.summary())
  build_model(config.model).apply(variables, images, adjacency)

``config`` must describe the released-code structure (configs/released.py):
GTC backbone, GCN refinement head with one pooling level (55 -> 18 -> 55), two
GCN layers per block, attention on, a 2-way classifier per node. Every shape is
checked against ``jax.eval_shape`` of the model's ``init``. Options that change
the computed function but not the shapes (stem_bn, empty_rows, ...) are listed
as warnings in the report.

``convert_file(weights, out, config)`` reads a ``.pth`` (PyTorch is needed
only for that) or ``.safetensors`` file, converts it and writes an orbax
directory; ``convert.py`` at the repository root is its command line.

Mapping (torch key -> Flax path). Conv weights [O, I/g, kh, kw] become kernels
[kh, kw, I/g, O]; linear weights [O, I] become kernels [I, O]; BatchNorm
weight/bias/running_mean/running_var become params scale/bias and batch_stats
mean/var. A ``module.`` prefix (nn.DataParallel) is stripped.
  GTC.{conv1,conv1_0,conv1_1,bn1,bn1_0,bn1_1,latlayer*,fc}  backbone/<same name>
  GTC.stem_merge.{0,1}              backbone/stem_merge_{conv,bn}
  GTC.layer{s}.{b}.<conv|bn>{1,2,3} backbone/stages/layer{s}_{b}/<same name>
  GTC.layer{s}.0.downsample.{0,1}   backbone/stages/layer{s}_0/
                                    downsample_{conv,bn}
  GTC.output_branch.{0,2,4}         backbone/output_branch_{0,1,2}
  GTC.conv_smooth_last.{0,1}        backbone/conv_smooth_last_{conv,bn}
  head_{i}.{0,2} (i = 1..55)        node_heads/{w1,b1}[i-1], {w2,b2}[i-1]
                                    (stacked over the 55 heads)
  GCN_refine.W.{j}                  graph_head/block_{j // L}/{w,b}{j % L},
                                    L = model.gcn_layers = 2
  GCN_refine.a [2D, 1]              graph_head/attention [2, D] (row 0: a1 for node i,
                                    row 1: a2 for neighbour j)
  GCN_refine.output_mlp             graph_head/output
  GCN_refine.{match_lst,corr_list}.t  graph_head/{match,corr}_t
  classifier{,_real_fake}.{0,2}     classifier{,_real_fake}/Dense_{0,1}
Ignored (reported, not errors): ``num_batches_tracked`` and the layers the
reference defines but never calls in its forward pass (GTC.conv2-4, bn2-4,
conv_red_*, conv_smooth_0-2, fc_2; conv_1x1_merge).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from lgpn_jax.models.weight_files import to_numpy

Path = tuple[str, ...]          # ('params', 'backbone', 'conv1', 'kernel')
# torch leaf name -> (collection, Flax leaf name, transform)
LeafMap = Mapping[str, tuple[str, str, str]]

PREFIX = 'module.'
UNUSED = 'unused by the reference forward pass'
NUM_BATCHES = 'num_batches_tracked (BatchNorm step counter)'

# Model-config values the reference structure needs (else the shapes or the
# set of parameters differ) and values of its forward pass (else the same
# weights compute a different function: reported as warnings).
REQUIRED = dict(backbone='gtc', head='gcn_refinement', pool_sizes=(18,),
                node_classifier='softmax', attention=True, gcn_layers=2)
RELEASED_SEMANTICS = dict(stem_bn='released', empty_rows='uniform',
                          pooled_nonedge_value=-9e15, corr_scale=1000.0,
                          edge_threshold=0.1)

_DEAD_PATTERNS = tuple(re.compile(p) for p in (
    r'GTC\.(conv|bn)[234]\..+',
    r'GTC\.conv_red_[012]\.[01]\..+',
    r'GTC\.conv_smooth_[012]\.[01]\..+',
    r'GTC\.fc_2\..+',
    r'conv_1x1_merge\.[01]\..+',
))


class ConversionError(ValueError):
  """A state_dict that does not fit the model (the message says why).

  ``report`` is set when the error is about missing / unexpected keys.
  """

  def __init__(self, message: str, report: 'ConversionReport | None' = None):
    super().__init__(message)
    self.report = report


# ----------------------------------------------------------------- transforms

def torch_conv_to_flax(weight: np.ndarray) -> np.ndarray:
  """Conv2d weight [O, I/groups, kh, kw] -> Flax kernel [kh, kw, I/groups, O].

  Both frameworks keep each group's output channels contiguous, so grouped
  convolutions need no reordering.
  """
  return np.transpose(weight, (2, 3, 1, 0))


def torch_linear_to_flax(weight: np.ndarray) -> np.ndarray:
  """Linear weight [out, in] -> Flax Dense kernel [in, out]."""
  return np.transpose(weight)


def torch_attention_to_flax(a: np.ndarray) -> np.ndarray:
  """GCN_refine.a [2D, 1] -> [2, D]: row 0 scores node i, row 1 neighbour j."""
  return np.reshape(a, (2, -1))


TRANSFORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = dict(
    copy=lambda x: x, conv=torch_conv_to_flax, linear=torch_linear_to_flax,
    attention=torch_attention_to_flax)


def torch_shape(transform: str, shape: Sequence[int]) -> tuple[int, ...]:
  """The source shape that ``transform`` turns into the Flax ``shape``."""
  shape = tuple(shape)
  if transform == 'conv':
    kh, kw, cin, cout = shape
    return (cout, cin, kh, kw)
  if transform == 'linear':
    return shape[::-1]
  if transform == 'attention':
    return (shape[0] * shape[1], 1)
  return shape


# --------------------------------------------------------------- key mapping

CONV: LeafMap = {'weight': ('params', 'kernel', 'conv'),
                 'bias': ('params', 'bias', 'copy')}
LINEAR: LeafMap = {'weight': ('params', 'kernel', 'linear'),
                   'bias': ('params', 'bias', 'copy')}
BN: LeafMap = {'weight': ('params', 'scale', 'copy'),
               'bias': ('params', 'bias', 'copy'),
               'running_mean': ('batch_stats', 'mean', 'copy'),
               'running_var': ('batch_stats', 'var', 'copy')}


def _weights(w: str, b: str) -> LeafMap:
  return {'weight': ('params', w, 'linear'), 'bias': ('params', b, 'copy')}


def _sequential_linear(index: str) -> int | None:
  """Sequential(Linear, ReLU, Linear) index -> layer (0 -> 0, 2 -> 1)."""
  i = int(index)
  return i // 2 if i % 2 == 0 else None


@dataclasses.dataclass(frozen=True)
class Target:
  path: Path                  # full Flax path, collection first
  transform: str
  index: int | None = None    # row of a stacked leaf (node heads)

  def __str__(self) -> str:
    row = '' if self.index is None else f'[{self.index}]'
    return '/'.join(self.path) + row


# Each rule: a regex on the torch *module* path (the key minus its last
# component) -> (Flax module path, leaf map, stack index), or None for a match
# with no parameters (e.g. a ReLU's index in a Sequential).
Rule = Callable[[re.Match, int], 'tuple[str, LeafMap, int | None] | None']


def _fixed(path: str, leaves: LeafMap) -> Rule:
  return lambda m, layers: (path.format(*m.groups()), leaves, None)


def _output_branch(m: re.Match, layers: int):
  k = _sequential_linear(m[1])
  return None if k is None else (f'backbone/output_branch_{k}', CONV, None)


def _node_head(m: re.Match, layers: int):
  k = _sequential_linear(m[2])
  if k is None:
    return None
  return 'node_heads', _weights(f'w{k + 1}', f'b{k + 1}'), int(m[1]) - 1


def _gcn_weight(m: re.Match, layers: int):
  j = int(m[1])
  return f'graph_head/block_{j // layers}', _weights(f'w{j % layers}',
                                               f'b{j % layers}'), None


def _classifier(m: re.Match, layers: int):
  k = _sequential_linear(m[2])
  return None if k is None else (f'{m[1]}/Dense_{k}', LINEAR, None)


_STAGE = 'backbone/stages/layer{0}_{1}'
_RULES: tuple[tuple[re.Pattern, Rule], ...] = tuple(
    (re.compile(pattern), rule) for pattern, rule in (
        (r'GTC\.(conv1|conv1_0|conv1_1|latlayer\d+)',
         _fixed('backbone/{0}', CONV)),
        (r'GTC\.(bn1|bn1_0|bn1_1)', _fixed('backbone/{0}', BN)),
        (r'GTC\.stem_merge\.0', _fixed('backbone/stem_merge_conv', CONV)),
        (r'GTC\.stem_merge\.1', _fixed('backbone/stem_merge_bn', BN)),
        (r'GTC\.layer(\d+)\.(\d+)\.(conv[123])', _fixed(_STAGE + '/{2}', CONV)),
        (r'GTC\.layer(\d+)\.(\d+)\.(bn[123])', _fixed(_STAGE + '/{2}', BN)),
        (r'GTC\.layer(\d+)\.(\d+)\.downsample\.0',
         _fixed(_STAGE + '/downsample_conv', CONV)),
        (r'GTC\.layer(\d+)\.(\d+)\.downsample\.1',
         _fixed(_STAGE + '/downsample_bn', BN)),
        (r'GTC\.output_branch\.(\d+)', _output_branch),
        (r'GTC\.conv_smooth_last\.0',
         _fixed('backbone/conv_smooth_last_conv', CONV)),
        (r'GTC\.conv_smooth_last\.1',
         _fixed('backbone/conv_smooth_last_bn', BN)),
        (r'GTC\.fc', _fixed('backbone/fc', LINEAR)),
        (r'head_(\d+)\.(\d+)', _node_head),
        (r'GCN_refine\.W\.(\d+)', _gcn_weight),
        (r'GCN_refine\.output_mlp', _fixed('graph_head/output', LINEAR)),
        (r'GCN_refine\.match_lst\.(\d+)', _fixed('graph_head/match_{0}', LINEAR)),
        (r'GCN_refine\.corr_list\.(\d+)', _fixed('graph_head/corr_{0}', LINEAR)),
        (r'(classifier|classifier_real_fake)\.(\d+)', _classifier),
    ))


def target_of(key: str, gcn_layers: int = 2) -> Target | None:
  """The Flax leaf a (prefix-free) reference key maps to, by name only."""
  if key == 'GCN_refine.a':
    return Target(('params', 'graph_head', 'attention'), 'attention')
  module, _, leaf = key.rpartition('.')
  for pattern, rule in _RULES:
    match = pattern.fullmatch(module)
    if match is None:
      continue
    found = rule(match, gcn_layers)
    if found is None or leaf not in found[1]:
      return None
    path, leaves, index = found
    collection, name, transform = leaves[leaf]
    return Target((collection, *path.split('/'), name), transform, index)
  return None


def ignored_reason(key: str) -> str | None:
  """Why a (prefix-free) reference key is skipped, or None if it is not."""
  if key.endswith('.num_batches_tracked'):
    return NUM_BATCHES
  if any(p.fullmatch(key) for p in _DEAD_PATTERNS):
    return UNUSED
  return None


# -------------------------------------------------------------------- report

@dataclasses.dataclass
class ConversionReport:
  mapped: dict[str, str] = dataclasses.field(default_factory=dict)
  missing: list[str] = dataclasses.field(default_factory=list)
  unexpected: list[str] = dataclasses.field(default_factory=list)
  ignored: dict[str, str] = dataclasses.field(default_factory=dict)
  warnings: list[str] = dataclasses.field(default_factory=list)
  prefix_stripped: int = 0
  leaves: int = 0              # Flax leaves written

  def summary(self) -> str:
    reasons: dict[str, int] = {}
    for reason in self.ignored.values():
      reasons[reason] = reasons.get(reason, 0) + 1
    lines = [f'mapped {len(self.mapped)} source keys onto {self.leaves} Flax '
             f'leaves; ignored {len(self.ignored)}; missing '
             f'{len(self.missing)}; unexpected {len(self.unexpected)}']
    if self.prefix_stripped:
      lines.append(f"stripped the '{PREFIX}' prefix from "
                   f'{self.prefix_stripped} keys')
    lines += [f'  ignored {n}: {reason}'
              for reason, n in sorted(reasons.items())]
    lines += [f'  missing (no source): {p}' for p in self.missing]
    lines += [f'  unexpected (no target): {k}' for k in self.unexpected]
    lines += [f'  warning: {w}' for w in self.warnings]
    return '\n'.join(lines)


# ----------------------------------------------------------------- conversion

def strip_prefix(state_dict: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
  """Drop nn.DataParallel's 'module.' prefix -> (state_dict, #keys stripped)."""
  out: dict[str, Any] = {}
  stripped = 0
  for key, value in state_dict.items():
    name = key
    while name.startswith(PREFIX):
      name = name[len(PREFIX):]
    stripped += name != key
    if name in out:
      raise ConversionError(f'{key!r} and another key both become {name!r} '
                            f"after stripping '{PREFIX}'")
    out[name] = value
  return out, stripped


def check_config(model_cfg: Mapping[str, Any]) -> list[str]:
  """Raise if the model cannot hold reference weights; return warnings."""
  def norm(v):
    return tuple(v) if isinstance(v, (list, tuple)) else v

  wrong = [f'model.{k}={model_cfg.get(k)!r} (the reference has {v!r})'
           for k, v in REQUIRED.items() if norm(model_cfg.get(k)) != v]
  if wrong:
    raise ConversionError(
        'the reference LGP_Net has no counterpart for this model: '
        + '; '.join(wrong) + '. Use configs/released.py.')
  return [f'model.{k}={model_cfg.get(k)!r}: the reference forward pass uses '
          f'{v!r}, so the converted weights compute a different function'
          for k, v in RELEASED_SEMANTICS.items() if model_cfg.get(k) != v]


def expected_variables(config) -> dict:
  """Shapes and dtypes of ``build_model(config.model).init`` (no allocation)."""
  import jax
  import jax.numpy as jnp
  from lgpn_jax.models.build import build_model

  model = build_model(config.model)
  size = int(config.data.image_size) if 'data' in config else 256
  n = config.model.num_nodes
  images = jax.ShapeDtypeStruct((1, size, size, 3), jnp.float32)
  adjacency = jax.ShapeDtypeStruct((n, n), jnp.float32)
  init = functools.partial(model.init, train=False)
  return dict(jax.eval_shape(init, jax.random.key(0), images, adjacency))


def _flatten(tree: Mapping, prefix: Path = ()) -> dict[Path, Any]:
  out: dict[Path, Any] = {}
  for key, value in tree.items():
    if isinstance(value, Mapping):
      out.update(_flatten(value, (*prefix, key)))
    else:
      out[(*prefix, key)] = value
  return out


def _unflatten(flat: Mapping[Path, Any]) -> dict:
  tree: dict = {}
  for path, value in flat.items():
    node = tree
    for key in path[:-1]:
      node = node.setdefault(key, {})
    node[path[-1]] = value
  return tree


def convert_state_dict(state_dict: Mapping[str, Any], config, *,
                       strict: bool = True) -> tuple[dict, ConversionReport]:
  """Reference ``LGP_Net`` state_dict -> ({'params', 'batch_stats'}, report).

  Values may be numpy arrays, torch tensors or anything ``np.asarray`` takes.
  Raises ``ConversionError`` for a config without a reference counterpart,
  for any shape mismatch (every one is listed, with the key), and, when
  ``strict``, for missing or unexpected keys. With ``strict=False`` those are
  only reported and the variables hold the converted leaves only (merge them
  into a fresh init).
  """
  report = ConversionReport(warnings=check_config(config.model))
  expected = _flatten(expected_variables(config))
  source, report.prefix_stripped = strip_prefix(state_dict)
  layers = config.model.gcn_layers

  flat: dict[Path, np.ndarray] = {}
  rows: dict[Path, dict[int, np.ndarray]] = {}
  errors: list[str] = []
  for key in sorted(source):
    reason = ignored_reason(key)
    if reason is not None:
      report.ignored[key] = reason
      continue
    target = target_of(key, layers)
    leaf = None if target is None else expected.get(target.path)
    shape = None if leaf is None else tuple(leaf.shape)
    if target is not None and shape is not None and target.index is not None:
      shape = shape[1:] if target.index < shape[0] else None
    if shape is None:
      report.unexpected.append(key)
      continue
    array = to_numpy(source[key])
    want = torch_shape(target.transform, shape)
    if tuple(array.shape) != want:
      errors.append(f'{key}: got shape {tuple(array.shape)}, expected {want} '
                    f'(for {target}, shape {tuple(leaf.shape)})')
      continue
    value = np.ascontiguousarray(TRANSFORMS[target.transform](array),
                                 dtype=leaf.dtype)
    slot = flat if target.index is None else rows.setdefault(target.path, {})
    name = target.path if target.index is None else target.index
    if name in slot:
      errors.append(f'{key}: a second source for {target}')
      continue
    slot[name] = value
    report.mapped[key] = str(target)
  if errors:
    raise ConversionError(f'{len(errors)} source arrays do not fit the '
                          'model:\n  ' + '\n  '.join(errors))

  for path, stacked in rows.items():
    n = expected[path].shape[0]
    absent = [i for i in range(n) if i not in stacked]
    if absent:
      report.missing += ['/'.join(path) + f'[{i}]' for i in absent]
    else:
      flat[path] = np.stack([stacked[i] for i in range(n)])
  report.missing += ['/'.join(p) for p in expected
                     if p not in flat and p not in rows]
  report.leaves = len(flat)
  if strict and (report.missing or report.unexpected):
    raise ConversionError(
        'the state_dict does not match the model (strict=False to only '
        'report):\n' + report.summary(), report)
  return _unflatten(flat), report




def convert_file(weights: str, out: str, config, *, strict: bool = True,
                 trust_pickle: bool = False, overwrite: bool = False
                 ) -> tuple[str, ConversionReport]:
  """Reads the authors' weights (``.pth``, or the same tensors as
  ``.safetensors``), converts them for ``config`` and writes
  ``{'params', 'batch_stats'}`` as an orbax directory at ``out``.

  Checks ``out`` and the config before reading the file. Returns (the
  directory written, the report).
  """
  from lgpn_jax.models import weight_files
  if os.path.exists(out) and not overwrite:
    raise ConversionError(f'{out} exists (pass --overwrite)')
  check_config(config.model)
  state_dict = weight_files.read_state_dict(weights,
                                            trust_pickle=trust_pickle)
  variables, report = convert_state_dict(state_dict, config, strict=strict)
  return weight_files.save_variables(variables, out, overwrite=overwrite), report
