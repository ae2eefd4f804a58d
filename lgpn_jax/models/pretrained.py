"""Start a backbone from ImageNet weights in a file the user supplies.

  state_dict = weight_files.read_state_dict('resnet50.safetensors')  # yours
  variables = model.init(key, images, adjacency, train=False)
  variables, report = load_pretrained(variables, state_dict,
                                      config.model.backbone)
  print(report.summary())

Targets (``config.model.backbone``) and the weights each takes:
  'resnet50', 'gtc'   torchvision's ResNet-50 (the ResNet part of the backbone)
  'vit_b16'           timm's ``vit_base_patch16_224``
  'hrnet'             timm's ``hrnet_w32``
Nothing is downloaded: the weights come from a file the user supplies, read by
``weight_files.read_state_dict`` (``.safetensors`` with numpy, ``.pth`` with
torch when installed). The authors' code loads torchvision's original
ImageNet ResNet-50 (``resnet50-19c8e357.pth``) into their GTC with
``strict=False``; torchvision's later ImageNet weights have the same keys and
load the same way. The timm mappings (ViT-B/16 with its position embeddings
resampled to our patch grid, HRNet-W32) are tabled in ``timm_rules``.

Mapping (``torchvision_resnet50_rules``; conv [O, I, kh, kw] -> kernel
[kh, kw, I, O]; BatchNorm weight/bias -> params scale/bias, running_mean/var
-> batch_stats mean/var):
  layer{s}.{b}.{conv,bn}{1,2,3}   stages/layer{s}_{b}/{conv,bn}{1,2,3}
  layer{s}.0.downsample.{0,1}     stages/layer{s}_0/downsample_{conv,bn}
  conv1, bn1                      conv1, bn1 (both targets, see below)
  fc.*                            ignored (reasons below)
  *.num_batches_tracked           ignored (Flax BatchNorm keeps no step count)
Target 'resnet50' (our baseline): the 7x7 stride-2 stem is torchvision's own.
Target 'gtc': the authors' GTC names its 7x7 stem branch ``conv1`` / ``bn1``,
so their ``strict=False`` load (which matches by name) puts torchvision's
conv1 (64x3x7x7) and bn1 into that branch although it runs at stride 1 with no
max-pool; we do the same, and the shape check holds it to stem_width=64 as the
authors'. The 5x5 / 3x3 branches, stem merge, lateral, output-branch and
smoothing layers get no weights (listed as missing; they keep their init).
torchvision's fc is ImageNet's 1000-class head: our ResNet50's fc maps to
``model.feature_dim`` instead, and the authors' LGP_Net replaces GTC.fc by a
fresh Linear(2048, 512) after loading, so both targets keep a fresh fc.

Checks (``load_pretrained``, every target): every mapped tensor must have our
leaf's shape; torch's ``load_state_dict`` raises on a size mismatch even with
``strict=False``, so a mismatch is an error too (all are listed, with a hint
when the model's sizes are not those of the weights' network, e.g. the tiny
config's); ``strict_shapes=False`` skips them instead (reported as ignored).
Keys without a target are reported as unexpected, not errors, as with
``strict=False``. A state_dict of which nothing maps is an error (wrong
``prefix`` or another network). Our backbone leaves without a source are
listed as missing (they keep their init). A ``module.`` prefix
(nn.DataParallel) is stripped. Replaced leaves are float32 (params and batch
statistics stay float32 whatever the compute dtype) and keep the sharding of
the leaf they replace, so loading can follow a sharded ``init``.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from typing import Any, Callable, Mapping, Sequence

import jax
import numpy as np
from flax import traverse_util

from lgpn_jax.models import timm_rules
from lgpn_jax.models.convert import (BN, CONV, NUM_BATCHES, TRANSFORMS,
                                     ConversionError, ConversionReport, Target,
                                     strip_prefix, torch_shape)
from lgpn_jax.models.weight_files import to_numpy

RESNET50 = dict(stem_width=64, stage_sizes=(3, 4, 6, 3),
                widths=(64, 128, 256, 512))
FC_REASON = {
    'resnet50': "torchvision's 1000-class ImageNet head; our fc maps to "
                'model.feature_dim and keeps its init',
    'gtc': "torchvision's 1000-class ImageNet head; the authors replace GTC.fc "
           'by a fresh Linear(2048, 512) after loading',
}
_LAYER = re.compile(r'layer([1-4])\.(\d+)\.(conv[123]|bn[123]|downsample\.[01])'
                    r'\.(\w+)')
_STEM = re.compile(r'(conv1|bn1)\.(\w+)')
_BLOCK = re.compile(r'layer(\d+)_(\d+)')


# ------------------------------------------------------------------ mapping

def torchvision_resnet50_rules(key: str, target: str) -> Target | str | None:
  """Where a torchvision resnet50 key goes: a ``Target`` (path collection
  first, relative to the backbone, i.e. without ``prefix``), the reason it
  is ignored (a str), or None for a key torchvision's resnet50 does not have.
  """
  if target not in FC_REASON:
    raise ConversionError(f'target must be one of {tuple(FC_REASON)}, got '
                          f'{target!r}')
  if key.endswith('.num_batches_tracked'):
    return NUM_BATCHES
  if key.startswith('fc.'):
    return FC_REASON[target]
  match = _LAYER.fullmatch(key)
  if match:
    stage, block, module, leaf = match.groups()
    name = {'downsample.0': 'downsample_conv',
            'downsample.1': 'downsample_bn'}.get(module, module)
    path = ('stages', f'layer{stage}_{block}', name)
  elif match := _STEM.fullmatch(key):
    name, leaf = match.groups()
    path = (name,)
  else:
    return None
  leaves = BN if name.startswith('bn') or name.endswith('_bn') else CONV
  if leaf not in leaves:
    return None
  collection, flax_name, transform = leaves[leaf]
  return Target((collection, *path, flax_name), transform)


def resnet_architecture(shapes: Mapping[tuple, tuple]) -> dict:
  """stem_width, stage_sizes and widths read off the backbone's parameter
  shapes (path relative to the backbone, leaf name last -> shape)."""
  kernels = {p[:-1]: s for p, s in shapes.items() if p[-1] == 'kernel'}
  blocks: dict[int, int] = {}
  for module in kernels:
    if len(module) == 3 and module[0] == 'stages' and module[2] == 'conv1':
      if m := _BLOCK.fullmatch(module[1]):
        blocks[int(m[1])] = blocks.get(int(m[1]), 0) + 1
  stages = sorted(blocks)
  return dict(stem_width=kernels.get(('conv1',), (None,))[-1],
              stage_sizes=tuple(blocks[s] for s in stages),
              widths=tuple(kernels.get(('stages', f'layer{s}_0', 'conv1'),
                                       (None,))[-1] for s in stages))


@dataclasses.dataclass(frozen=True)
class Source:
  """The weights a target takes and how to tell that our model differs."""
  library: str             # 'torchvision' | 'timm'
  model: str               # the network the state_dict must come from
  label: str               # its short name in messages
  rules: Callable[[str], 'Target | str | None']
  reference: dict          # its sizes, as ``architecture`` reads ours
  architecture: Callable[[Mapping[tuple, tuple]], dict]
  fields: str              # the config fields that set those sizes
  batch_stats: bool = True


_RESNET = dict(library='torchvision', model='resnet50', label='ResNet-50',
               reference=RESNET50, architecture=resnet_architecture,
               fields='model.stem_width, model.stage_sizes and model.widths')
SOURCES = {
    t: Source(rules=functools.partial(torchvision_resnet50_rules, target=t),
              **_RESNET) for t in ('resnet50', 'gtc')}
SOURCES['vit_b16'] = Source(
    'timm', 'vit_base_patch16_224', 'ViT-B/16', timm_rules.vit_b16_rules,
    timm_rules.VIT_B16, timm_rules.vit_architecture, 'model.vit',
    batch_stats=False)
SOURCES['hrnet'] = Source(
    'timm', 'hrnet_w32', 'HRNet-W32', timm_rules.hrnet_w32_rules,
    timm_rules.HRNET_W32, timm_rules.hrnet_architecture,
    'model.stem_width and model.hrnet')
TARGETS = tuple(SOURCES)     # = config.model.backbone values.


def _differs(source: Source, shapes: Mapping[tuple, tuple]) -> str | None:
  arch = source.architecture(shapes)
  if arch == source.reference:
    return None
  sizes = lambda d: ', '.join(f'{k}={v}' for k, v in d.items())
  return (f"the model ({sizes(arch)}) differs from {source.label}'s "
          f'({sizes(source.reference)}): set {source.fields} to '
          f"{source.label}'s to load ImageNet weights")


def _convert(transform: str, array: np.ndarray, want: tuple) -> np.ndarray:
  if transform == 'pos_embed':
    return timm_rules.resample_pos_embed(array, want)
  return TRANSFORMS[transform](array)


def load_pretrained(variables: Mapping[str, Any],
                    state_dict: Mapping[str, Any], target: str, *,
                    prefix: Sequence[str] | str = ('backbone',),
                    strict_shapes: bool = True
                    ) -> tuple[dict, ConversionReport]:
  """ImageNet state_dict -> (a copy of ``variables`` with the backbone's
  mapped leaves replaced, report). See the module doc for the contract.

  ``variables``: the ``{'params', 'batch_stats'}`` tree of ``model.init``
  (arrays, or ``jax.eval_shape`` structs); ``target``: one of ``TARGETS``
  (the backbone); ``prefix``: the backbone's scope ('backbone' in LGPN and
  Classifier, () for a bare backbone). The report's ``missing`` lists
  backbone leaves that keep their init.
  """
  if target not in SOURCES:
    raise ConversionError(f'target must be one of {TARGETS}, got {target!r}')
  src = SOURCES[target]
  if isinstance(prefix, str):
    prefix = tuple(p for p in prefix.split('/') if p)
  prefix = tuple(prefix)
  flat = traverse_util.flatten_dict(variables)
  ours = {p: v for p, v in flat.items()
          if p[1:1 + len(prefix)] == prefix and len(p) > 1 + len(prefix)}
  where = '/'.join(prefix) or 'the root'
  if not ours:
    raise ConversionError(
        f'the variables have nothing under {where}: prefix must name the '
        f'backbone\'s scope (top-level scopes: {sorted({p[1] for p in flat})})')
  if src.batch_stats and not any(p[0] == 'batch_stats' for p in ours):
    raise ConversionError(
        f'the variables have no batch_stats under {where}: pass the whole '
        "{'params', 'batch_stats'} tree of model.init (a model built with "
        'fold_bn=True has none: load the weights first, then fold)')
  source, stripped = strip_prefix(state_dict)
  report = ConversionReport(prefix_stripped=stripped)
  written: dict[tuple, Any] = {}
  mismatched: list[str] = []
  for key in sorted(source):
    rule = src.rules(key)
    if isinstance(rule, str):
      report.ignored[key] = rule
      continue
    path = None if rule is None else (rule.path[0], *prefix, *rule.path[1:])
    if path not in ours:
      report.unexpected.append(key)
      continue
    array = to_numpy(source[key])
    want = tuple(ours[path].shape)
    value = np.ascontiguousarray(_convert(rule.transform, array, want),
                                 np.float32)
    if value.shape != want:
      why = (f'{key}: torch shape {tuple(array.shape)}, ours '
             f'{torch_shape(rule.transform, want)} in torch layout '
             f'({"/".join(path)} {want})')
      mismatched.append(why)
      report.ignored[key] = f'shape mismatch, skipped: {why}'
      continue
    if rule.transform == 'pos_embed' and array.shape != want:
      report.warnings.append(
          f'{key}: the position embeddings of the {array.shape[1] - 1} '
          f'patches resampled to {want[1] - 1} (bilinear on the square '
          "grid); the class token's kept")
    written[path] = value
    report.mapped[key] = '/'.join(path)

  shapes = {p[1 + len(prefix):]: tuple(v.shape) for p, v in ours.items()
            if p[0] == 'params'}
  hint = _differs(src, shapes)
  if mismatched and strict_shapes:
    shown = mismatched[:8] + ([f'... and {len(mismatched) - 8} more']
                              if len(mismatched) > 8 else [])
    raise ConversionError(
        f'{len(mismatched)} {src.library} tensors do not fit the {target} '
        'backbone' + (f'; {hint}' if hint else '') + ':\n  '
        + '\n  '.join(shown))
  if not written:
    raise ConversionError(
        f'no tensor of the state_dict maps onto the {target} backbone under '
        f'{where} ({len(report.unexpected)} unexpected, '
        f'{len(report.ignored)} ignored keys): is it a {src.library} '
        f'{src.model} state_dict, and is prefix right?')
  if hint:
    report.warnings.append(hint)
  report.missing = ['/'.join(p) for p in ours if p not in written]
  report.leaves = len(written)

  new = dict(flat)
  for path, value in written.items():
    old = flat[path]
    new[path] = (jax.device_put(value, old.sharding)
                 if isinstance(old, jax.Array) else value)
  return traverse_util.unflatten_dict(new), report
