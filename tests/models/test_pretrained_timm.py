"""timm ViT-B/16 and HRNet-W32 weights into our backbones (models/pretrained.py
with models/timm_rules.py).

Three descriptions are written independently here and must agree with the
loader: timm's key lists and shapes (``timm_vit_shapes``, ``timm_hrnet_shapes``,
from timm's module structure), the inverse mapping from our variables to
timm's layout (``to_timm_*``: our names -> timm's, kernels -> torch layout),
and the loader itself. Tiny configs' state dicts come from our own variable
trees filled with random values; full-size models are seen only through
jax.eval_shape. No torch or timm needed, nothing compiled.
"""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import default, tiny
from lgpn_jax.models import pretrained, timm_rules, vit
from lgpn_jax.models.build import build_backbone
from lgpn_jax.models.convert import torch_shape

ConversionError = pretrained.ConversionError


def backbone(name: str, small: bool):
  config = default.get_config()
  config.model.backbone = name
  config.model.dtype = 'float32'
  if small:
    tiny.shrink(config)
  return build_backbone(config.model), config.data.image_size


def shapes_of(name: str, small: bool = True):
  module, size = backbone(name, small)
  images = jax.ShapeDtypeStruct((1, size, size, 3), jnp.float32)
  return jax.eval_shape(lambda x: module.init(jax.random.key(0), x,
                                              train=False), images)


def random_variables(name: str, seed: int):
  """Our tiny backbone's variable tree filled with random float32 values
  (no compile: the tree comes from jax.eval_shape)."""
  rng = np.random.default_rng(seed)
  return jax.tree_util.tree_map(
      lambda s: rng.standard_normal(s.shape).astype(np.float32),
      shapes_of(name))


def flat(tree) -> dict[str, np.ndarray]:
  leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
  return {'/'.join(k.key for k in path): v for path, v in leaves}


# ------------------------------------------------ timm's layout, from timm

def timm_vit_shapes(depth=12, width=768, mlp=3072, patch=16, grid=14,
                    classes=1000) -> dict[str, tuple]:
  """timm VisionTransformer (class token, no fc_norm) state_dict shapes."""
  shapes = {'cls_token': (1, 1, width), 'pos_embed': (1, 1 + grid * grid, width),
            'patch_embed.proj.weight': (width, 3, patch, patch),
            'patch_embed.proj.bias': (width,)}
  for i in range(depth):
    b = f'blocks.{i}'
    shapes.update({
        f'{b}.norm1.weight': (width,), f'{b}.norm1.bias': (width,),
        f'{b}.attn.qkv.weight': (3 * width, width),
        f'{b}.attn.qkv.bias': (3 * width,),
        f'{b}.attn.proj.weight': (width, width), f'{b}.attn.proj.bias': (width,),
        f'{b}.norm2.weight': (width,), f'{b}.norm2.bias': (width,),
        f'{b}.mlp.fc1.weight': (mlp, width), f'{b}.mlp.fc1.bias': (mlp,),
        f'{b}.mlp.fc2.weight': (width, mlp), f'{b}.mlp.fc2.bias': (width,)})
  shapes.update({'norm.weight': (width,), 'norm.bias': (width,),
                 'head.weight': (classes, width), 'head.bias': (classes,)})
  return shapes


def timm_hrnet_shapes(stem_width=64, stage1_width=64, stage1_blocks=4,
                      width=32, num_modules=(1, 4, 3), num_blocks=4,
                      head_widths=(32, 64, 128, 256), final_width=2048,
                      classes=1000) -> dict[str, tuple]:
  """timm HighResolutionNet (classification head) state_dict shapes, from
  its _make_layer / _make_transition_layer / _make_stage / _make_head."""
  s: dict[str, tuple] = {}

  def conv(name, out, inp, k, bias=False):
    s[f'{name}.weight'] = (out, inp, k, k)
    if bias:
      s[f'{name}.bias'] = (out,)

  def bn(name, ch):
    for leaf in ('weight', 'bias', 'running_mean', 'running_var'):
      s[f'{name}.{leaf}'] = (ch,)
    s[f'{name}.num_batches_tracked'] = ()

  def bottleneck(name, inp, planes):
    conv(f'{name}.conv1', planes, inp, 1), bn(f'{name}.bn1', planes)
    conv(f'{name}.conv2', planes, planes, 3), bn(f'{name}.bn2', planes)
    conv(f'{name}.conv3', 4 * planes, planes, 1), bn(f'{name}.bn3', 4 * planes)
    if inp != 4 * planes:
      conv(f'{name}.downsample.0', 4 * planes, inp, 1)
      bn(f'{name}.downsample.1', 4 * planes)

  conv('conv1', stem_width, 3, 3), bn('bn1', stem_width)
  conv('conv2', stem_width, stem_width, 3), bn('bn2', stem_width)
  for b in range(stage1_blocks):
    bottleneck(f'layer1.{b}', stem_width if b == 0 else 4 * stage1_width,
               stage1_width)
  pre = [4 * stage1_width]
  for t, modules in enumerate(num_modules, start=1):
    cur = [width * 2 ** i for i in range(t + 1)]
    for i, ch in enumerate(cur):
      if i < len(pre) and ch != pre[i]:
        conv(f'transition{t}.{i}.0', ch, pre[i], 3)
        bn(f'transition{t}.{i}.1', ch)
      elif i >= len(pre):
        conv(f'transition{t}.{i}.0.0', ch, pre[-1], 3)
        bn(f'transition{t}.{i}.0.1', ch)
    for m in range(modules):
      name = f'stage{t + 1}.{m}'
      for i, ch in enumerate(cur):
        for b in range(num_blocks):
          block = f'{name}.branches.{i}.{b}'
          conv(f'{block}.conv1', ch, ch, 3), bn(f'{block}.bn1', ch)
          conv(f'{block}.conv2', ch, ch, 3), bn(f'{block}.bn2', ch)
      for i in range(len(cur)):
        for j in range(len(cur)):
          fuse = f'{name}.fuse_layers.{i}.{j}'
          if j > i:
            conv(f'{fuse}.0', cur[i], cur[j], 1), bn(f'{fuse}.1', cur[i])
          for k in range(i - j):
            out = cur[i] if k == i - j - 1 else cur[j]
            conv(f'{fuse}.{k}.0', out, cur[j], 3), bn(f'{fuse}.{k}.1', out)
    pre = cur
  for i, ch in enumerate(pre):
    bottleneck(f'incre_modules.{i}.0', ch, head_widths[i])
  for i in range(len(pre) - 1):
    conv(f'downsamp_modules.{i}.0', 4 * head_widths[i + 1],
         4 * head_widths[i], 3, bias=True)
    bn(f'downsamp_modules.{i}.1', 4 * head_widths[i + 1])
  conv('final_layer.0', final_width, 4 * head_widths[-1], 1, bias=True)
  bn('final_layer.1', final_width)
  s['classifier.weight'], s['classifier.bias'] = (classes, final_width), (classes,)
  return s


# ------------------------------------- ours -> timm (the inverse mapping)

def _torch_value(leaf: str, value):
  value = np.asarray(value)
  if leaf == 'kernel':
    return value.transpose(3, 2, 0, 1) if value.ndim == 4 else value.T
  return value


_LEAF = {'kernel': 'weight', 'scale': 'weight', 'bias': 'bias',
         'mean': 'running_mean', 'var': 'running_var'}


def to_timm_vit(variables) -> dict[str, np.ndarray]:
  sd = {}
  for path, value in flat(variables).items():
    parts = path.split('/')[1:]
    if parts[0] == 'fc':
      continue
    if parts[0] in ('cls_token', 'pos_embed'):
      sd[parts[0]] = np.asarray(value)
      continue
    leaf = _LEAF[parts[-1]]
    module = '.'.join(parts[:-1])
    module = re.sub(r'^block(\d+)', r'blocks.\1', module)
    if module.endswith('attn.qkv') and leaf == 'weight':
      q, k, v = np.split(np.asarray(value), 3, axis=1)   # [D, D] each
      sd[f'{module}.weight'] = np.concatenate([q.T, k.T, v.T], axis=0)
      continue
    sd[f'{module}.{leaf}'] = _torch_value(parts[-1], value)
  rng = np.random.default_rng(3)
  width = sd['norm.weight'].shape[0]
  sd['head.weight'] = rng.standard_normal((1000, width)).astype(np.float32)
  sd['head.bias'] = rng.standard_normal(1000).astype(np.float32)
  return sd


def _timm_module(module: str, branches_before: dict[int, int]) -> str:
  seq = lambda kind: {'conv': '0', 'bn': '1'}[kind]
  module = re.sub(r'downsample_(conv|bn)$',
                  lambda m: f'downsample.{seq(m[1])}', module)
  if m := re.fullmatch(r'transition(\d)_(\d+)_(conv|bn)', module):
    t, i = int(m[1]) - 1, int(m[2])
    new = '0.' if i >= branches_before[t] else ''
    return f'transition{t}.{i}.{new}{seq(m[3])}'
  if m := re.fullmatch(r'stage(\d)_(\d+)/fuse/to(\d+)_from(\d+)(?:_step(\d+))?'
                       r'_(conv|bn)', module):
    step = '' if m[5] is None else f'{m[5]}.'
    return (f'stage{m[1]}.{m[2]}.fuse_layers.{m[3]}.{m[4]}.{step}'
            f'{seq(m[6])}')
  module = re.sub(r'^stage(\d)_(\d+)/branch(\d+)_(\d+)/',
                  r'stage\1.\2.branches.\3.\4.', module)
  module = re.sub(r'^layer1_(\d+)/', r'layer1.\1.', module)
  module = re.sub(r'^head/incre(\d+)/', r'incre_modules.\1.0.', module)
  module = re.sub(r'^head/downsamp(\d+)_(conv|bn)$',
                  lambda m: f'downsamp_modules.{m[1]}.{seq(m[2])}', module)
  module = re.sub(r'^head/final_(conv|bn)$',
                  lambda m: f'final_layer.{seq(m[1])}', module)
  return module


def to_timm_hrnet(variables) -> dict[str, np.ndarray]:
  sd = {}
  # timm's transition{t} follows a stage with t branches (stage 1: one).
  branches_before = {t: t for t in range(1, 4)}
  for path, value in flat(variables).items():
    parts = path.split('/')[1:]
    if parts[0] == 'fc':
      continue
    module = _timm_module('/'.join(parts[:-1]), branches_before)
    sd[f'{module}.{_LEAF[parts[-1]]}'] = _torch_value(parts[-1], value)
    if parts[-1] == 'var':
      sd[f'{module}.num_batches_tracked'] = np.array(7, np.int64)
  final = sd['final_layer.1.weight'].shape[0]
  sd['classifier.weight'] = np.ones((1000, final), np.float32)
  sd['classifier.bias'] = np.zeros(1000, np.float32)
  return sd


# -------------------------------------------------------------- fixtures

TINY_VIT = dict(depth=2, width=16, mlp=24, patch=8, grid=4)
TINY_HRNET = dict(stem_width=tiny.MODEL['stem_width'], **tiny.SECTIONS['hrnet'])


@pytest.fixture(scope='module')
def vit_vars():
  return random_variables('vit_b16', 0), random_variables('vit_b16', 1)


@pytest.fixture(scope='module')
def hrnet_vars():
  return random_variables('hrnet', 0), random_variables('hrnet', 1)


def assert_loaded(out, source, fresh, report, sd):
  """Every mapped leaf equals the source leaf exactly; the rest are fresh."""
  got, want, init = flat(out), flat(source), flat(fresh)
  assert set(report.mapped) | set(report.ignored) == set(sd)
  assert report.unexpected == []
  assert sorted(report.missing) == ['params/fc/bias', 'params/fc/kernel']
  assert sorted(report.mapped.values()) == sorted(
      p for p in want if not p.startswith('params/fc/'))
  assert report.leaves == len(report.mapped)
  for path in want:
    expect = init[path] if path.startswith('params/fc/') else want[path]
    np.testing.assert_array_equal(np.asarray(got[path]), np.asarray(expect),
                                  err_msg=path)
  assert not np.array_equal(want['params/fc/kernel'], init['params/fc/kernel'])


def round_trip(variables, to_timm, spec, target):
  """Our source variables -> timm's layout (checked against ``spec``) ->
  loaded into the fresh ones: (state_dict, report), every leaf checked."""
  source, fresh = variables
  sd = to_timm(source)
  assert {k: v.shape for k, v in sd.items()} == spec
  out, report = pretrained.load_pretrained(fresh, sd, target, prefix=())
  assert_loaded(out, source, fresh, report, sd)
  return sd, report


# ------------------------------------------------------------------ ViT

def test_vit_round_trip_from_timm_layout(vit_vars):
  sd, report = round_trip(vit_vars, to_timm_vit, timm_vit_shapes(**TINY_VIT),
                          'vit_b16')
  assert report.ignored == {'head.bias': timm_rules.HEAD_REASON,
                            'head.weight': timm_rules.HEAD_REASON}
  assert report.mapped['blocks.1.attn.qkv.weight'] == \
      'params/block1/attn/qkv/kernel'
  assert len(report.mapped) == 4 + 12 * 2 + 2
  # The tiny model is not ViT-B/16: said once, with the sizes to set.
  assert len(report.warnings) == 1 and 'model.vit' in report.warnings[0]
  assert 'width=16' in report.warnings[0] and 'width=768' in report.warnings[0]
  assert report.summary().startswith('mapped 30 source keys onto 30 Flax '
                                     'leaves; ignored 2; missing 2')


def timm_attention(x, sd, name, heads):
  """timm's Attention.forward in numpy (float64), from its state_dict."""
  batch, tokens, width = x.shape
  qkv = x @ sd[f'{name}.qkv.weight'].T + sd[f'{name}.qkv.bias']
  qkv = qkv.reshape(batch, tokens, 3, heads, width // heads)
  q, k, v = qkv.transpose(2, 0, 3, 1, 4)          # [B, heads, N, d] each
  logits = q @ k.transpose(0, 1, 3, 2) * (width // heads) ** -0.5
  weights = np.exp(logits - logits.max(-1, keepdims=True))
  weights /= weights.sum(-1, keepdims=True)
  out = (weights @ v).transpose(0, 2, 1, 3).reshape(batch, tokens, width)
  return out @ sd[f'{name}.proj.weight'].T + sd[f'{name}.proj.bias']


def test_vit_loaded_attention_computes_timms(vit_vars):
  """The fused qkv's layout: the loaded block attends as timm's does."""
  source, fresh = vit_vars
  sd = to_timm_vit(source)
  out, _ = pretrained.load_pretrained(fresh, sd, 'vit_b16', prefix=())
  x = np.random.default_rng(5).standard_normal((2, 5, 16)).astype(np.float32)
  heads = tiny.SECTIONS['vit']['heads']
  got = vit.Attention(heads).apply(
      {'params': out['params']['block1']['attn']}, x)
  want = timm_attention(x.astype(np.float64),
                        {k: v.astype(np.float64) for k, v in sd.items()},
                        'blocks.1.attn', heads)
  np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-4)


def bilinear_reference(grid: np.ndarray, size: int) -> np.ndarray:
  """[g, g, D] -> [size, size, D]: PyTorch's bilinear, align_corners=False
  (source coordinate (i + 0.5) * g / size - 0.5, clamped at 0)."""
  g = grid.shape[0]
  def weights(n_out):
    w = np.zeros((n_out, g))
    for i in range(n_out):
      x = max((i + 0.5) * g / n_out - 0.5, 0.0)
      lo = min(int(np.floor(x)), g - 1)
      hi = min(lo + 1, g - 1)
      w[i, lo] += 1 - (x - lo)
      w[i, hi] += x - lo
    return w
  w = weights(size)
  return np.einsum('ia,jb,abd->ijd', w, w, grid.astype(np.float64))


def test_vit_pos_embed_resampled_bilinear(vit_vars):
  source, fresh = vit_vars
  sd = to_timm_vit(source)
  rng = np.random.default_rng(4)
  small = rng.standard_normal((1, 1 + 2 * 2, 16)).astype(np.float32)  # 2x2
  sd['pos_embed'] = small
  out, report = pretrained.load_pretrained(fresh, sd, 'vit_b16', prefix=())
  pos = np.asarray(out['params']['pos_embed'])
  assert pos.shape == (1, 1 + 4 * 4, 16)
  np.testing.assert_array_equal(pos[0, 0], small[0, 0])   # class token
  want = bilinear_reference(small[0, 1:].reshape(2, 2, 16), 4)
  np.testing.assert_allclose(pos[0, 1:].reshape(4, 4, 16), want, rtol=1e-6,
                             atol=1e-6)
  assert any('4 patches resampled to 16' in w for w in report.warnings)
  # timm's 14x14 grid onto ours at 256x256 (16x16), as the real file loads.
  big = rng.standard_normal((1, 1 + 14 * 14, 8)).astype(np.float32)
  got = timm_rules.resample_pos_embed(big, (1, 1 + 16 * 16, 8))
  np.testing.assert_allclose(
      got[0, 1:].reshape(16, 16, 8),
      bilinear_reference(big[0, 1:].reshape(14, 14, 8), 16), atol=1e-5)


def test_vit_shape_mismatch_names_the_key(vit_vars):
  source, fresh = vit_vars
  sd = to_timm_vit(source)
  sd['blocks.1.mlp.fc1.weight'] = np.zeros((25, 16), np.float32)
  with pytest.raises(ConversionError) as e:
    pretrained.load_pretrained(fresh, sd, 'vit_b16', prefix=())
  message = str(e.value)
  assert message.startswith('1 timm tensors do not fit the vit_b16 backbone')
  assert ('blocks.1.mlp.fc1.weight: torch shape (25, 16), ours (24, 16) in '
          'torch layout (params/block1/mlp/fc1/kernel (16, 24))') in message
  assert 'model.vit' in message
  out, report = pretrained.load_pretrained(fresh, sd, 'vit_b16', prefix=(),
                                           strict_shapes=False)
  assert report.ignored['blocks.1.mlp.fc1.weight'].startswith('shape mismatch')
  assert 'params/block1/mlp/fc1/kernel' in report.missing
  junk = {'x.weight': np.ones(2)}
  with pytest.raises(ConversionError,
                     match='timm vit_base_patch16_224 state_dict'):
    pretrained.load_pretrained(fresh, junk, 'vit_b16', prefix=())
  with pytest.raises(ConversionError, match='no batch_stats'):   # not HRNet
    pretrained.load_pretrained(fresh, junk, 'hrnet', prefix=())


def full_size_accounting(name, rules, spec, ignored):
  """Every timm key maps onto a leaf of the right shape or is ignored with a
  reason; no two keys share a leaf; only fc is left without a source."""
  ours = {tuple(p.split('/')): v for p, v in
          flat(shapes_of(name, small=False)).items()}
  targets, reasons = {}, {}
  for key, shape in spec.items():
    rule = rules(key)
    if isinstance(rule, str):
      reasons[key] = rule
      continue
    assert rule is not None and rule.path in ours, key
    want = tuple(ours[rule.path].shape)
    if rule.transform == 'pos_embed':
      assert timm_rules.resample_pos_embed(np.zeros(shape), want).shape == want
    else:
      assert torch_shape(rule.transform, want) == shape, key
    assert rule.path not in targets, key
    targets[rule.path] = key
  assert sorted(reasons) == sorted(ignored) and all(reasons.values())
  assert sorted('/'.join(p) for p in set(ours) - set(targets)) == [
      'params/fc/bias', 'params/fc/kernel']
  return {p[1:]: tuple(v.shape) for p, v in ours.items() if p[0] == 'params'}


def test_vit_b16_full_size_key_accounting():
  spec = timm_vit_shapes()
  assert len(spec) == 152   # timm vit_base_patch16_224's state_dict.
  shapes = full_size_accounting('vit_b16', timm_rules.vit_b16_rules, spec,
                                ['head.weight', 'head.bias'])
  assert timm_rules.vit_architecture(shapes) == timm_rules.VIT_B16


# ---------------------------------------------------------------- HRNet

def test_hrnet_round_trip_from_timm_layout(hrnet_vars):
  sd, report = round_trip(hrnet_vars, to_timm_hrnet,
                          timm_hrnet_shapes(**TINY_HRNET), 'hrnet')
  counters = [k for k in sd if k.endswith('num_batches_tracked')]
  assert sorted(report.ignored) == sorted(
      counters + ['classifier.bias', 'classifier.weight'])
  assert report.ignored['classifier.weight'] == timm_rules.HEAD_REASON
  assert report.mapped['transition1.1.0.0.weight'] == \
      'params/transition2_1_conv/kernel'
  assert report.mapped['stage4.0.fuse_layers.3.0.2.1.running_var'] == \
      'batch_stats/stage4_0/fuse/to3_from0_step2_bn/var'
  assert report.mapped['final_layer.0.bias'] == 'params/head/final_conv/bias'
  assert len(report.warnings) == 1 and 'model.hrnet' in report.warnings[0]


def test_hrnet_w32_full_size_key_accounting():
  spec = timm_hrnet_shapes()
  counters = [k for k in spec if k.endswith('num_batches_tracked')]
  shapes = full_size_accounting('hrnet', timm_rules.hrnet_w32_rules, spec,
                                counters + ['classifier.weight',
                                            'classifier.bias'])
  assert timm_rules.hrnet_architecture(shapes) == timm_rules.HRNET_W32
