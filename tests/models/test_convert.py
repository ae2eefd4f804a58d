"""Weight import from the authors' PyTorch LGP_Net (lgpn_jax/models/convert.py).

The reference key list below is written from the architecture (the released
``resnet_stem.py`` / ``test_model_v5.py``), not from our parameter tree, so a
naming or shape slip on either side fails here. The parity tests check the
layout conventions (conv / linear transposes, grouped convolutions, explicit
padding, the attention vector split) numerically against numpy, without torch.
"""

import importlib.util
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from configs import default, released
from lgpn_jax.models import convert, graph_ops, weight_files
from lgpn_jax.models.node_heads import NodeHeads
from lgpn_jax.models.resnet import conv

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
STAGES = ((3, 64), (4, 128), (6, 256), (3, 512))   # (blocks, width), ResNet-50
NODES, HIDDEN, DIM = 55, 512, 128


def _conv(s, name, out, cin, k, bias=False):
  s[f'{name}.weight'] = (out, cin, k, k)
  if bias:
    s[f'{name}.bias'] = (out,)


def _bn(s, name, c):
  for leaf in ('weight', 'bias', 'running_mean', 'running_var'):
    s[f'{name}.{leaf}'] = (c,)
  s[f'{name}.num_batches_tracked'] = ()


def _linear(s, name, out, cin):
  s[f'{name}.weight'] = (out, cin)
  s[f'{name}.bias'] = (out,)


def reference_used_shapes() -> dict[str, tuple]:
  """Every key LGP_Net's forward pass uses, with its torch shape."""
  s: dict[str, tuple] = {}
  g = 'GTC.'
  for name, k in (('conv1', 7), ('conv1_0', 5), ('conv1_1', 3)):
    _conv(s, g + name, 64, 3, k)
  for name in ('bn1', 'bn1_0', 'bn1_1'):
    _bn(s, g + name, 64)
  _conv(s, g + 'stem_merge.0', 64, 192 // 2, 1)    # groups=2
  _bn(s, g + 'stem_merge.1', 64)
  inplanes = 64
  for stage, (blocks, width) in enumerate(STAGES, start=1):
    for b in range(blocks):
      p = f'{g}layer{stage}.{b}.'
      _conv(s, p + 'conv1', width, inplanes, 1)
      _bn(s, p + 'bn1', width)
      _conv(s, p + 'conv2', width, width, 3)
      _bn(s, p + 'bn2', width)
      _conv(s, p + 'conv3', 4 * width, width, 1)
      _bn(s, p + 'bn3', 4 * width)
      if b == 0:
        _conv(s, p + 'downsample.0', 4 * width, inplanes, 1)
        _bn(s, p + 'downsample.1', 4 * width)
      inplanes = 4 * width
  for k, c in enumerate((256, 512, 1024, 2048)):
    _conv(s, f'{g}latlayer{k}', 64, c, 1, bias=True)
  for i in (0, 2, 4):
    _conv(s, f'{g}output_branch.{i}', 64, 64, 3, bias=True)
  _conv(s, g + 'conv_smooth_last.0', 2048, (2048 + 64) // 2, 1)
  _bn(s, g + 'conv_smooth_last.1', 2048)
  _linear(s, g + 'fc', 512, 2048)
  for i in range(1, NODES + 1):
    _linear(s, f'head_{i}.0', HIDDEN, 512)
    _linear(s, f'head_{i}.2', DIM, HIDDEN)
  for j in range(6):
    _linear(s, f'GCN_refine.W.{j}', DIM, DIM)
  s['GCN_refine.a'] = (2 * DIM, 1)
  _linear(s, 'GCN_refine.output_mlp', DIM, DIM)
  for t, n in enumerate((18, 55)):
    _linear(s, f'GCN_refine.match_lst.{t}', n, DIM)
    _linear(s, f'GCN_refine.corr_list.{t}', n, DIM)
  _linear(s, 'classifier.0', DIM, DIM)
  _linear(s, 'classifier.2', 2, DIM)
  _linear(s, 'classifier_real_fake.0', 640, 640)
  _linear(s, 'classifier_real_fake.2', 2, 640)
  return s


def reference_dead_shapes() -> dict[str, tuple]:
  """Layers LGP_Net defines but never calls in forward."""
  s: dict[str, tuple] = {}
  for k in (2, 3, 4):
    _conv(s, f'GTC.conv{k}', 64, 3, 7)
    _bn(s, f'GTC.bn{k}', 64)
  for k, c in enumerate((16, 32, 64)):                 # _make_merge(64, c)
    _conv(s, f'GTC.conv_red_{k}.0', c, 64 // 2, 1)
    _bn(s, f'GTC.conv_red_{k}.1', c)
  for k, (c, extra) in enumerate(((256, 16), (512, 32), (1024, 64))):
    _conv(s, f'GTC.conv_smooth_{k}.0', c, (c + extra) // 2, 1)
    _bn(s, f'GTC.conv_smooth_{k}.1', c)
  _linear(s, 'GTC.fc_2', 1, 64)
  _conv(s, 'conv_1x1_merge.0', 64, 128 // 2, 1)
  _bn(s, 'conv_1x1_merge.1', 64)
  return s


def _parameter_count(shapes: dict[str, tuple]) -> int:
  """Trainable parameters (what torch's parameters() counts: no BN buffers)."""
  return sum(int(np.prod(shape)) for key, shape in shapes.items()
             if not key.endswith(('running_mean', 'running_var',
                                  'num_batches_tracked')))


def _random_state_dict(shapes, seed=0) -> dict[str, np.ndarray]:
  rng = np.random.default_rng(seed)
  out = {}
  for key, shape in shapes.items():
    if key.endswith('num_batches_tracked'):
      out[key] = np.array(7, np.int64)
    else:
      out[key] = rng.standard_normal(shape, dtype=np.float32)
  return out


@pytest.fixture(scope='module')
def config():
  return released.get_config()


@pytest.fixture(scope='module')
def source():
  return _random_state_dict({**reference_used_shapes(),
                             **reference_dead_shapes()})


@pytest.fixture(scope='module')
def converted(source, config):
  return convert.convert_state_dict(source, config)


def _leaf(variables, path):
  for key in path.split('/'):
    variables = variables[key]
  return np.asarray(variables)


# -------------------------------------------------------- the reference list

def test_reference_list_matches_the_measured_parameter_count():
  # MODEL_SPEC: 46.5 M parameters, 45.7 M used by forward, 0.77 M dead.
  used = _parameter_count(reference_used_shapes())
  dead = _parameter_count(reference_dead_shapes())
  assert round(used / 1e6, 1) == 45.7
  assert round(dead / 1e6, 2) == 0.77
  assert round((used + dead) / 1e6, 1) == 46.5


# ------------------------------------------------------------ key coverage

def test_full_reference_converts_with_nothing_missing(converted, source):
  variables, report = converted
  used, dead = reference_used_shapes(), reference_dead_shapes()
  assert report.missing == [] and report.unexpected == []
  assert set(report.mapped) == {k for k in used
                                if not k.endswith('num_batches_tracked')}
  expected_ignored = {k for k in dead} | {k for k in used
                                          if k.endswith('num_batches_tracked')}
  assert set(report.ignored) == expected_ignored
  for key in dead:
    want = (convert.NUM_BATCHES if key.endswith('num_batches_tracked')
            else convert.UNUSED)
    assert report.ignored[key] == want, key
  assert report.warnings == []
  assert set(variables) == {'params', 'batch_stats'}
  # Every converted element comes from exactly one source element.
  leaves = jax.tree.leaves(variables)
  assert report.leaves == len(leaves) == 336
  mapped_values = [source[k] for k in report.mapped]
  assert sum(x.size for x in leaves) == sum(x.size for x in mapped_values)
  total = sum(np.sum(x, dtype=np.float64) for x in leaves)
  assert total == pytest.approx(
      sum(np.sum(x, dtype=np.float64) for x in mapped_values), rel=1e-9)
  assert 'ignored' in report.summary() and 'missing 0' in report.summary()


def test_converted_shapes_and_dtypes_match_model_init(converted, config):
  variables, _ = converted
  expected = convert.expected_variables(config)
  got = jax.tree.map(lambda x: (x.shape, x.dtype), variables)
  want = jax.tree.map(lambda x: (x.shape, x.dtype), expected)
  assert got == want


@pytest.mark.parametrize('torch_key, flax_path, transform', [
    ('GTC.conv1.weight', 'params/backbone/conv1/kernel', 'conv'),
    ('GTC.stem_merge.0.weight', 'params/backbone/stem_merge_conv/kernel',
     'conv'),
    ('GTC.conv_smooth_last.0.weight',
     'params/backbone/conv_smooth_last_conv/kernel', 'conv'),
    ('GTC.layer3.4.conv2.weight',
     'params/backbone/stages/layer3_4/conv2/kernel', 'conv'),
    ('GTC.layer2.0.downsample.0.weight',
     'params/backbone/stages/layer2_0/downsample_conv/kernel', 'conv'),
    ('GTC.output_branch.4.bias', 'params/backbone/output_branch_2/bias', None),
    ('GTC.latlayer3.weight', 'params/backbone/latlayer3/kernel', 'conv'),
    ('GTC.bn1_1.weight', 'params/backbone/bn1_1/scale', None),
    ('GTC.layer4.2.bn3.running_var',
     'batch_stats/backbone/stages/layer4_2/bn3/var', None),
    ('GTC.layer1.0.downsample.1.running_mean',
     'batch_stats/backbone/stages/layer1_0/downsample_bn/mean', None),
    ('GTC.fc.weight', 'params/backbone/fc/kernel', 'T'),
    ('GCN_refine.W.3.weight', 'params/graph_head/block_1/w1', 'T'),
    ('GCN_refine.W.3.bias', 'params/graph_head/block_1/b1', None),
    ('GCN_refine.W.4.weight', 'params/graph_head/block_2/w0', 'T'),
    ('GCN_refine.match_lst.1.weight', 'params/graph_head/match_1/kernel', 'T'),
    ('GCN_refine.corr_list.0.bias', 'params/graph_head/corr_0/bias', None),
    ('GCN_refine.output_mlp.weight', 'params/graph_head/output/kernel', 'T'),
    ('classifier.2.weight', 'params/classifier/Dense_1/kernel', 'T'),
    ('classifier_real_fake.0.bias',
     'params/classifier_real_fake/Dense_0/bias', None),
])
def test_leaf_equals_transposed_source(converted, source, torch_key, flax_path,
                                       transform):
  variables, report = converted
  src = source[torch_key]
  if transform == 'conv':
    want = np.transpose(src, (2, 3, 1, 0))
  elif transform == 'T':
    want = src.T
  else:
    want = src
  np.testing.assert_array_equal(_leaf(variables, flax_path), want)
  assert report.mapped[torch_key] == flax_path


def test_grouped_conv_kernel_element_by_element(converted, source):
  # torch stem_merge.0.weight[o, i, 0, 0] -> kernel[0, 0, i, o].
  kernel = _leaf(converted[0], 'params/backbone/stem_merge_conv/kernel')
  w = source['GTC.stem_merge.0.weight']
  assert kernel.shape == (1, 1, 96, 64)
  for o, i in ((0, 0), (5, 90), (63, 17), (40, 95)):
    assert kernel[0, 0, i, o] == w[o, i, 0, 0]


@pytest.mark.parametrize('head', [1, 2, 37, 55])
def test_node_heads_are_stacked_in_order(converted, source, head):
  params = converted[0]['params']['node_heads']
  n = head - 1
  for k, index in ((1, 0), (2, 2)):
    weight, bias = (source[f'head_{head}.{index}.{leaf}']
                    for leaf in ('weight', 'bias'))
    np.testing.assert_array_equal(params[f'w{k}'][n], weight.T)
    np.testing.assert_array_equal(params[f'b{k}'][n], bias)


def test_attention_vector_split(converted, source):
  att = _leaf(converted[0], 'params/graph_head/attention')
  a = source['GCN_refine.a']
  assert att.shape == (2, DIM)
  np.testing.assert_array_equal(att[0], a[:DIM, 0])
  np.testing.assert_array_equal(att[1], a[DIM:, 0])


# ----------------------------------------------------------- error handling

def test_dataparallel_prefix_is_stripped(source, config, converted):
  wrapped = {f'module.{k}': v for k, v in source.items()}
  variables, report = convert.convert_state_dict(wrapped, config)
  assert report.prefix_stripped == len(source)
  assert report.missing == [] and report.unexpected == []
  assert set(report.mapped) == set(converted[1].mapped)
  np.testing.assert_array_equal(
      _leaf(variables, 'params/graph_head/block_2/w1'),
      source['GCN_refine.W.5.weight'].T)


def test_wrong_shape_names_the_key(source, config):
  bad = dict(source)
  bad['GTC.layer3.2.conv2.weight'] = np.zeros((256, 256, 1, 1), np.float32)
  bad['head_7.2.weight'] = np.zeros((DIM, 256), np.float32)
  with pytest.raises(convert.ConversionError) as info:
    convert.convert_state_dict(bad, config)
  message = str(info.value)
  assert '2 source arrays' in message
  assert 'GTC.layer3.2.conv2.weight' in message
  assert '(256, 256, 3, 3)' in message
  assert 'head_7.2.weight' in message


def test_missing_and_unexpected_keys(source, config):
  broken = dict(source)
  del broken['GCN_refine.W.5.bias']
  del broken['head_12.0.weight']
  broken['GTC.layer5.0.conv1.weight'] = np.zeros((1,), np.float32)
  broken['head_56.0.bias'] = np.zeros((HIDDEN,), np.float32)
  broken['something_else'] = np.zeros((3,), np.float32)
  with pytest.raises(convert.ConversionError) as info:
    convert.convert_state_dict(broken, config)
  report = info.value.report
  assert report.missing == ['params/node_heads/w1[11]',
                            'params/graph_head/block_2/b1']
  assert report.unexpected == ['GTC.layer5.0.conv1.weight', 'head_56.0.bias',
                               'something_else']
  assert 'something_else' in str(info.value)
  variables, report = convert.convert_state_dict(broken, config, strict=False)
  assert 'w1' not in variables['params']['node_heads']
  assert 'b1' not in variables['params']['graph_head']['block_2']
  assert len(report.unexpected) == 3


def test_duplicate_after_prefix_strip_is_an_error(config):
  with pytest.raises(convert.ConversionError, match='GCN_refine.a'):
    convert.convert_state_dict({'GCN_refine.a': np.zeros((256, 1)),
                                'module.GCN_refine.a': np.zeros((256, 1))},
                               config)


def test_paper_config_has_no_reference_counterpart():
  with pytest.raises(convert.ConversionError, match='pool_sizes'):
    convert.convert_state_dict({}, default.get_config())


def test_semantic_differences_are_warned(source, config):
  cfg = released.get_config()
  cfg.model.stem_bn = 'paper'
  cfg.model.empty_rows = 'zero'
  _, report = convert.convert_state_dict(source, cfg)
  assert len(report.warnings) == 2
  assert any('stem_bn' in w for w in report.warnings)


def test_accepts_array_likes(config):
  class FakeTensor:   # what torch.Tensor offers: detach().cpu().numpy()
    def __init__(self, x):
      self.x, self.shape, self.dtype = x, x.shape, 'torch.float32'

    def detach(self):
      return self

    def cpu(self):
      return self

    def numpy(self):
      return self.x

  shapes = {**reference_used_shapes(), **reference_dead_shapes()}
  sd = {k: np.zeros(s, np.float32) for k, s in shapes.items()}
  a = np.arange(2 * DIM, dtype=np.float32).reshape(2 * DIM, 1)
  sd['GCN_refine.a'] = FakeTensor(a)
  sd['classifier.2.bias'] = [1.0, 2.0]           # anything np.asarray takes
  variables, _ = convert.convert_state_dict(sd, config)
  np.testing.assert_array_equal(_leaf(variables, 'params/graph_head/attention'),
                                a.reshape(2, DIM))
  np.testing.assert_array_equal(
      _leaf(variables, 'params/classifier/Dense_1/bias'), [1.0, 2.0])


def test_unwrap_state_dict():
  sd = {'a.weight': np.zeros(2)}
  assert weight_files.unwrap_state_dict(sd) == sd
  checkpoint = {'epoch': 3, 'model_state_dict': sd, 'scheduler': object()}
  assert weight_files.unwrap_state_dict(checkpoint) == sd
  assert weight_files.unwrap_state_dict({'state_dict': {'model': sd}}) == sd
  with pytest.raises(weight_files.WeightFileError, match="'epoch'"):
    weight_files.unwrap_state_dict({'epoch': 3, 'optimizer': {}})


def test_cli_reports_user_errors_without_traceback(tmp_path):
  def convert_py(*args):
    return subprocess.run([sys.executable, 'convert.py', *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)

  out = convert_py(f'--weights={tmp_path / "nope.pth"}',
                   f'--out={tmp_path / "o"}')
  assert out.returncode == 2 and out.stderr.startswith('error: ')
  assert 'nope.pth' in out.stderr and 'Traceback' not in out.stderr
  (tmp_path / 'o').mkdir()
  out = convert_py('--weights=x.pth', f'--out={tmp_path / "o"}')
  assert out.returncode == 2 and '--overwrite' in out.stderr


HAS_TORCH = importlib.util.find_spec('torch') is not None


@pytest.mark.skipif(HAS_TORCH, reason='torch is installed')
def test_load_pth_without_torch_says_so(tmp_path):
  path = tmp_path / 'w.pth'
  path.write_bytes(b'not really')
  with pytest.raises(weight_files.WeightFileError, match='needs PyTorch'):
    weight_files.load_pth(path)


@pytest.mark.skipif(not HAS_TORCH, reason='optional: needs torch')
def test_load_pth_reads_a_wrapped_dataparallel_checkpoint(tmp_path, config):
  import argparse
  import torch
  sd = {f'module.{k}': torch.from_numpy(v) for k, v in
        _random_state_dict(reference_used_shapes(), seed=6).items()}
  path = tmp_path / 'best_model.pth'
  torch.save({'epoch': 3, 'model_state_dict': sd,
              'scheduler': argparse.Namespace(step=20)}, path)
  with pytest.raises(weight_files.WeightFileError, match='--trust_pickle'):
    weight_files.load_pth(path)
  loaded = weight_files.load_pth(path, trust_pickle=True)
  assert set(loaded) == set(sd)
  variables, report = convert.convert_state_dict(loaded, config)
  assert report.missing == [] and report.unexpected == []
  np.testing.assert_array_equal(
      _leaf(variables, 'params/backbone/conv1_0/kernel'),
      sd['module.GTC.conv1_0.weight'].numpy().transpose(2, 3, 1, 0))


def test_convert_file_writes_a_restorable_checkpoint(tmp_path, monkeypatch,
                                                     config):
  shapes = {**reference_used_shapes(), **reference_dead_shapes()}
  sd = {k: np.zeros(s, np.float32) for k, s in shapes.items()}
  sd['GTC.bn1.running_var'] = np.linspace(1, 2, 64, dtype=np.float32)
  sd['head_3.2.bias'] = np.arange(DIM, dtype=np.float32)
  sd = {f'module.{k}': v for k, v in sd.items()}
  monkeypatch.setattr(weight_files, 'read_state_dict',
                      lambda path, trust_pickle: sd)
  out = tmp_path / 'converted'
  written, report = convert.convert_file('w.pth', str(out), config)
  assert written == str(out)
  assert 'missing 0; unexpected 0' in report.summary()
  restored = weight_files.load_variables(out)
  np.testing.assert_array_equal(
      restored['batch_stats']['backbone']['bn1']['var'],
      sd['module.GTC.bn1.running_var'])
  np.testing.assert_array_equal(restored['params']['node_heads']['b2'][2],
                                np.arange(DIM))


# ------------------------------------------- numerical parity, numpy oracles

def test_grouped_1x1_conv_matches_numpy_grouped_matmul():
  rng = np.random.default_rng(1)
  groups, cin, cout = 2, 6, 8
  w = rng.standard_normal((cout, cin // groups, 1, 1), dtype=np.float32)
  x = rng.standard_normal((2, 5, 5, cin), dtype=np.float32)      # NHWC
  layer = conv(cout, 1, groups=groups)
  y = layer.apply({'params': {'kernel': convert.torch_conv_to_flax(w)}}, x)
  want = np.zeros((2, 5, 5, cout), np.float32)
  per_in, per_out = cin // groups, cout // groups
  for g in range(groups):
    xg = x[..., g * per_in:(g + 1) * per_in]
    wg = w[g * per_out:(g + 1) * per_out, :, 0, 0]              # [out, in/g]
    want[..., g * per_out:(g + 1) * per_out] = xg @ wg.T
  np.testing.assert_allclose(np.asarray(y), want, rtol=1e-5, atol=1e-5)


def test_stride2_conv_matches_torch_padding_1():
  rng = np.random.default_rng(2)
  cin, cout, size = 3, 4, 8
  w = rng.standard_normal((cout, cin, 3, 3), dtype=np.float32)
  b = rng.standard_normal((cout,), dtype=np.float32)
  x_nchw = rng.standard_normal((2, cin, size, size), dtype=np.float32)
  # torch.nn.Conv2d(cin, cout, 3, stride=2, padding=1): cross-correlation on
  # the input zero-padded by 1 on every side.
  xp = np.pad(x_nchw, ((0, 0), (0, 0), (1, 1), (1, 1)))
  out = size // 2
  want = np.zeros((2, cout, out, out), np.float32)
  for i in range(out):
    for j in range(out):
      patch = xp[:, :, 2 * i:2 * i + 3, 2 * j:2 * j + 3]
      want[:, :, i, j] = np.einsum('bchw,ochw->bo', patch, w) + b
  layer = conv(cout, 3, 2, bias=True)
  params = {'params': {'kernel': convert.torch_conv_to_flax(w), 'bias': b}}
  y = layer.apply(params, np.transpose(x_nchw, (0, 2, 3, 1)))
  np.testing.assert_allclose(np.asarray(y), np.transpose(want, (0, 2, 3, 1)),
                             rtol=1e-5, atol=1e-5)


def test_node_heads_match_numpy_reference(converted, source):
  rng = np.random.default_rng(3)
  f = rng.standard_normal((2, 512), dtype=np.float32)
  params = {'params': converted[0]['params']['node_heads']}
  h = NodeHeads(NODES, HIDDEN, DIM).apply(params, f)
  want = []
  for i in range(1, NODES + 1):
    w0, b0 = source[f'head_{i}.0.weight'], source[f'head_{i}.0.bias']
    w2, b2 = source[f'head_{i}.2.weight'], source[f'head_{i}.2.bias']
    x = np.maximum(f @ w0.T + b0, 0) @ w2.T + b2
    want.append(x / np.linalg.norm(x, axis=-1, keepdims=True))
  np.testing.assert_allclose(np.asarray(h), np.stack(want, axis=1),
                             rtol=1e-4, atol=1e-5)


def _numpy_attention(h, a, mask):
  """The reference: e_ij = a[:D].h_i + a[D:].h_j, -9e15 off edges, softmax."""
  d = h.shape[-1]
  e = (h @ a[:d])[:, :, None, 0] + (h @ a[d:])[:, None, :, 0]
  e = np.where(mask, e, -9e15).astype(np.float64)
  e = np.exp(e - e.max(-1, keepdims=True))
  return e / e.sum(-1, keepdims=True)


def test_edge_attention_matches_reference_vector(converted, source):
  rng = np.random.default_rng(4)
  n = 7
  h = rng.standard_normal((2, n, DIM), dtype=np.float32) * 0.1
  mask = rng.random((n, n)) < 0.4
  mask[3] = False                     # an edgeless node: uniform row
  mask[0] = True
  att = _leaf(converted[0], 'params/graph_head/attention')
  got = graph_ops.edge_attention(h, att, mask, empty_rows='uniform')
  want = _numpy_attention(h, source['GCN_refine.a'], mask)
  np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-6)
  assert np.allclose(want[:, 3], 1.0 / n)
  # Swapping a1 and a2 gives a different answer: the test can tell.
  swapped = graph_ops.edge_attention(h, att[::-1], mask, empty_rows='uniform')
  assert not np.allclose(np.asarray(swapped), want, atol=1e-3)


def test_gcn_layer_matches_reference_linear(converted, source):
  rng = np.random.default_rng(5)
  n = 6
  h = rng.standard_normal((2, n, DIM), dtype=np.float32)
  adj = (rng.random((n, n)) < 0.5).astype(np.float32)
  block = converted[0]['params']['graph_head']['block_1']
  got = graph_ops.gcn_layer(h, adj, block['w1'], block['b1'])
  w, b = source['GCN_refine.W.3.weight'], source['GCN_refine.W.3.bias']
  linear = lambda x: x @ w.T + b                      # torch nn.Linear
  ah = np.einsum('ij,bjd->bid', adj, h)
  want = np.maximum((linear(ah) + linear(h)) / (adj.sum(-1)[:, None] + 1), 0)
  np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-4)
