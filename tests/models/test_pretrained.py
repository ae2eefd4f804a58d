"""torchvision ResNet-50 weights into our backbones (models/pretrained.py).

The state_dicts are synthetic: torchvision's exact key names and ResNet-50
shapes, random values. Full-width variable shapes come from jax.eval_shape
(no compile); the only compiled program is one small Bottleneck, checked
against a numpy reference of the block in eval mode.
"""

from __future__ import annotations


import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lgpn_jax.models import pretrained
from lgpn_jax.models.gtc import GTC
from lgpn_jax.models.resnet import BN_EPSILON, Bottleneck, ResNet50

ConversionError = pretrained.ConversionError
TINY = dict(stem_width=8, stage_sizes=(1, 1, 1, 1), widths=(4, 8, 8, 16),
            features=32)


@pytest.fixture(scope='module')
def torchvision_sd(torchvision_keys):
  shapes = torchvision_keys.resnet50_shapes()
  assert len(shapes) == 320   # torchvision resnet50's state_dict length.
  return torchvision_keys.random_state_dict(shapes)


class Wrapped(nn.Module):
  """A backbone under the 'backbone' scope, as in LGPN and Classifier."""
  backbone: nn.Module

  @nn.compact
  def __call__(self, x, train: bool = False):
    return self.backbone(x, train)


def shapes_of(module, size=32):
  images = jax.ShapeDtypeStruct((1, size, size, 3), jnp.float32)
  return jax.eval_shape(lambda x: module.init(jax.random.key(0), x,
                                              train=False), images)


def leaves(tree) -> list[str]:
  flat = jax.tree_util.tree_flatten_with_path(tree)[0]
  return sorted('/'.join(k.key for k in path) for path, _ in flat)


def assert_accounted(report, sd):
  assert set(report.mapped) | set(report.ignored) == set(sd)
  assert not set(report.mapped) & set(report.ignored)
  assert report.unexpected == []
  ignored = {k: r for k, r in report.ignored.items()}
  assert sum(k.endswith('num_batches_tracked') for k in ignored) == 53
  assert sorted(k for k in ignored if not k.endswith('num_batches_tracked')) \
      == ['fc.bias', 'fc.weight']
  assert all(r for r in ignored.values())
  assert len(report.mapped) == 265 and report.leaves == 265


def test_resnet50_baseline_complete(torchvision_sd):
  sd = torchvision_sd
  out, report = pretrained.load_pretrained(shapes_of(ResNet50()), sd,
                                           'resnet50', prefix=())
  assert_accounted(report, sd)
  # Every leaf of the ResNet part (stem + stages) is written; fc keeps init.
  assert sorted(report.missing) == ['params/fc/bias', 'params/fc/kernel']
  assert report.warnings == []
  p, s = out['params'], out['batch_stats']
  np.testing.assert_array_equal(p['conv1']['kernel'],
                                sd['conv1.weight'].transpose(2, 3, 1, 0))
  k = p['stages']['layer3_5']['conv2']['kernel']
  w = sd['layer3.5.conv2.weight']
  assert k.shape == (3, 3, 256, 256) and k.dtype == np.float32
  assert k[0, 2, 17, 101] == w[101, 17, 0, 2]
  k = p['stages']['layer2_0']['downsample_conv']['kernel']
  assert k.shape == (1, 1, 256, 512)
  np.testing.assert_array_equal(k[0, 0], sd['layer2.0.downsample.0.weight']
                                [:, :, 0, 0].T)
  ds = 'layer4.0.downsample.1'
  np.testing.assert_array_equal(
      p['stages']['layer4_0']['downsample_bn']['scale'], sd[f'{ds}.weight'])
  np.testing.assert_array_equal(
      s['stages']['layer4_0']['downsample_bn']['mean'],
      sd[f'{ds}.running_mean'])
  np.testing.assert_array_equal(s['bn1']['var'], sd['bn1.running_var'])
  np.testing.assert_array_equal(p['stages']['layer1_2']['bn3']['bias'],
                                sd['layer1.2.bn3.bias'])
  assert isinstance(p['fc']['kernel'], jax.ShapeDtypeStruct)   # untouched


def test_gtc_stages_and_7x7_stem(torchvision_sd):
  sd = {f'module.{k}': v for k, v in torchvision_sd.items()}   # DataParallel
  variables = shapes_of(Wrapped(GTC()))
  out, report = pretrained.load_pretrained(variables, sd, 'gtc')
  assert report.prefix_stripped == 320
  assert_accounted(report, torchvision_sd)
  assert report.mapped['conv1.weight'] == 'params/backbone/conv1/kernel'
  assert report.mapped['bn1.running_var'] == 'batch_stats/backbone/bn1/var'
  # Missing: exactly GTC's own layers (not ResNet-50's), 36 leaves.
  ours = [p for p in leaves(variables) if p.split('/')[1] == 'backbone']
  expect = [p for p in ours
            if p.split('/')[2] not in ('stages', 'conv1', 'bn1')]
  assert sorted(report.missing) == expect and len(expect) == 36
  assert 'params/backbone/conv1_0/kernel' in expect
  assert 'params/backbone/latlayer3/kernel' in expect
  b = out['params']['backbone']
  np.testing.assert_array_equal(b['conv1']['kernel'],
                                torchvision_sd['conv1.weight']
                                .transpose(2, 3, 1, 0))
  np.testing.assert_array_equal(
      b['stages']['layer4_2']['conv3']['kernel'][0, 0],
      torchvision_sd['layer4.2.conv3.weight'][:, :, 0, 0].T)
  assert isinstance(b['conv1_0']['kernel'], jax.ShapeDtypeStruct)
  assert 'fresh Linear(2048, 512)' in report.ignored['fc.weight']


# ----------------------------------------------------- numbers of one block

def conv_ref(x, w, stride):
  """NHWC x, torch weight [O, I, kh, kw]; PyTorch padding k // 2."""
  k = w.shape[2]
  pad = k // 2
  xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
  ho = (x.shape[1] + 2 * pad - k) // stride + 1
  wo = (x.shape[2] + 2 * pad - k) // stride + 1
  out = np.zeros((x.shape[0], ho, wo, w.shape[0]))
  for i in range(k):
    for j in range(k):
      patch = xp[:, i:i + stride * ho:stride, j:j + stride * wo:stride, :]
      out += np.einsum('nhwc,oc->nhwo', patch, w[:, :, i, j])
  return out


def bn_ref(x, sd, name):
  scale = sd[f'{name}.weight'] / np.sqrt(sd[f'{name}.running_var'] + BN_EPSILON)
  return (x - sd[f'{name}.running_mean']) * scale + sd[f'{name}.bias']


def bottleneck_ref(x, sd, name, stride):
  relu = lambda v: np.maximum(v, 0)
  y = relu(bn_ref(conv_ref(x, sd[f'{name}.conv1.weight'], 1), sd,
                  f'{name}.bn1'))
  y = relu(bn_ref(conv_ref(y, sd[f'{name}.conv2.weight'], stride), sd,
                  f'{name}.bn2'))
  y = bn_ref(conv_ref(y, sd[f'{name}.conv3.weight'], 1), sd, f'{name}.bn3')
  short = bn_ref(conv_ref(x, sd[f'{name}.downsample.0.weight'], stride), sd,
                 f'{name}.downsample.1')
  return relu(y + short)


def test_loaded_bottleneck_matches_numpy_reference(torchvision_keys):
  shapes: dict = {}
  torchvision_keys.block_shapes(shapes, 'layer2.0', inplanes=6, width=4,
                               downsample=True)
  sd = torchvision_keys.random_state_dict(shapes, seed=1)
  block = Bottleneck(width=4, stride=2)
  x = np.random.default_rng(2).standard_normal((2, 7, 7, 6)).astype(np.float32)
  bare = jax.eval_shape(lambda v: block.init(jax.random.key(0), v,
                                             train=False), x)
  nest = {c: {'stages': {'layer2_0': tree}} for c, tree in bare.items()}
  out, report = pretrained.load_pretrained(nest, sd, 'resnet50', prefix=())
  assert report.missing == [] and report.unexpected == []
  assert len(report.mapped) == 4 * 5
  variables = {c: tree['stages']['layer2_0'] for c, tree in out.items()}
  got = block.apply(variables, x, train=False)
  want = bottleneck_ref(x.astype(np.float64), sd, 'layer2.0', stride=2)
  assert got.shape == want.shape == (2, 4, 4, 16)
  np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, atol=1e-4)


# ------------------------------------------------------------ shape checks

def test_tiny_widths_shape_error(torchvision_sd):
  variables = shapes_of(Wrapped(ResNet50(**TINY)))
  with pytest.raises(ConversionError) as e:
    pretrained.load_pretrained(variables, torchvision_sd, 'resnet50')
  message = str(e.value)
  assert message.startswith('85 torchvision tensors do not fit')   # 5 + 4 x 20
  assert ('conv1.weight: torch shape (64, 3, 7, 7), ours (8, 3, 7, 7) in '
          'torch layout (params/backbone/conv1/kernel (7, 7, 3, 8))') in message
  assert 'widths=(4, 8, 8, 16)' in message
  assert 'widths=(64, 128, 256, 512)' in message
  assert 'stage_sizes=(1, 1, 1, 1)' in message and 'stem_width=8' in message


def test_non_strict_shapes_and_wrong_prefix(torchvision_sd):
  # The stem fits ResNet-50 (stem_width 64), the stages do not.
  model = ResNet50(**{**TINY, 'stem_width': 64})
  variables = shapes_of(Wrapped(model))
  out, report = pretrained.load_pretrained(variables, torchvision_sd,
                                           'resnet50', strict_shapes=False)
  assert sorted(report.mapped) == ['bn1.bias', 'bn1.running_mean',
                                   'bn1.running_var', 'bn1.weight',
                                   'conv1.weight']
  skipped = [k for k, r in report.ignored.items() if r.startswith('shape')]
  assert 'layer1.0.conv1.weight' in skipped
  assert 'layer1.1.conv1.weight' in report.unexpected   # 1 block per stage
  assert 'stage_sizes=(1, 1, 1, 1)' in report.warnings[0]
  assert isinstance(out['params']['backbone']['conv1']['kernel'], np.ndarray)
  with pytest.raises(ConversionError, match='no tensor of the state_dict'):
    pretrained.load_pretrained(variables, {'features.0.weight': np.ones(3)},
                               'resnet50')
  with pytest.raises(ConversionError, match="nothing under encoder"):
    pretrained.load_pretrained(variables, torchvision_sd, 'resnet50',
                               prefix=('encoder',))
  with pytest.raises(ConversionError, match='no batch_stats'):
    pretrained.load_pretrained({'params': variables['params']},
                               torchvision_sd, 'resnet50')


def test_loaded_leaves_keep_sharding(torchvision_keys):
  shapes: dict = {}
  torchvision_keys.block_shapes(shapes, 'layer1.0', inplanes=16, width=4,
                               downsample=False)
  sd = torchvision_keys.random_state_dict(shapes)
  bare = Bottleneck(width=4).init(jax.random.key(0),
                                  jnp.zeros((1, 4, 4, 16)), train=False)
  nest = {c: {'stages': {'layer1_0': t}} for c, t in bare.items()}
  out, _ = pretrained.load_pretrained(nest, sd, 'resnet50', prefix='')
  kernel = out['params']['stages']['layer1_0']['conv2']['kernel']
  assert isinstance(kernel, jax.Array) and kernel.dtype == jnp.float32
  old = nest['params']['stages']['layer1_0']['conv2']['kernel']
  assert kernel.sharding == old.sharding
  np.testing.assert_array_equal(kernel, sd['layer1.0.conv2.weight']
                                .transpose(2, 3, 1, 0))
