"""BatchNorm folding (model.fold_bn, lgpn_jax/models/bn_fold.py): the folded model
computes the ordinary model's eval-mode function.

Numbers: every output of tiny GTC (both stems), ResNet-50 and the detection
classifier, with random BatchNorm scales, biases, means and variances; one
convolution + BatchNorm (and a double BatchNorm) against plain numpy. Trees:
no statistics or BatchNorm modules left, the folded model's exact parameter
shapes. Errors: train=True on a folded model, BatchNorms that cannot fold.
"""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from configs import default, tiny
from lgpn_jax.models import bn_fold
from lgpn_jax.red140 import graphs
from lgpn_jax.models.build import build_classifier
from lgpn_jax.models.build import build_model
from lgpn_jax.models.resnet import BN_EPSILON

ADJ = jnp.asarray(graphs.fold_correlation_graph(1))
X = jax.random.uniform(jax.random.key(0), (2, 32, 32, 3), minval=-1, maxval=1)

# name -> (backbone, stem_bn, detection classifier?)
VARIANTS = {'gtc_paper': ('gtc', 'paper', False),
            'gtc_released': ('gtc', 'released', False),
            'resnet50': ('resnet50', 'paper', False),
            'detection_gtc': ('gtc', 'paper', True)}


def model_config(variant, fold=False):
  backbone, stem_bn, _ = VARIANTS[variant]
  cfg = tiny.get_config().model       # float32 compute.
  cfg.backbone, cfg.stem_bn, cfg.fold_bn = backbone, stem_bn, fold
  return cfg


def build(variant, fold=False):
  cfg = model_config(variant, fold)
  if VARIANTS[variant][2]:
    return build_classifier(cfg, num_classes=2)
  return build_model(cfg)


def shapes(net):
  return jax.eval_shape(
      lambda x: net.init({'params': jax.random.key(0)}, x, ADJ), X)


def random_variables(net, seed=0):
  """Random parameters and non-trivial BatchNorm statistics (no initialiser
  to compile): scales of both signs, variances in [0.3, 2], means != 0."""
  rng = np.random.default_rng(seed)

  def fill(path, leaf):
    name = jax.tree_util.keystr(path)
    if "'var'" in name:
      value = rng.uniform(0.3, 2.0, leaf.shape)
    elif "'scale'" in name:
      value = rng.choice([-1, 1], leaf.shape) * rng.uniform(0.5, 1.5,
                                                            leaf.shape)
    elif "'mean'" in name:
      value = 0.3 * rng.normal(size=leaf.shape)
    elif len(leaf.shape) >= 2:             # kernels: std 1 / sqrt(fan-in).
      value = rng.normal(size=leaf.shape) / np.sqrt(np.prod(leaf.shape[:-1]))
    else:                                  # biases.
      value = 0.1 * rng.normal(size=leaf.shape)
    return jnp.asarray(value, leaf.dtype)

  return jax.tree_util.tree_map_with_path(fill, shapes(net))


def tree_paths(tree):
  return {jax.tree_util.keystr(p): (l.shape, jnp.dtype(l.dtype))
          for p, l in jax.tree_util.tree_flatten_with_path(tree)[0]}


@pytest.mark.parametrize('variant', list(VARIANTS))
def test_folded_model_outputs_equal_eval_mode_outputs(variant):
  net, fnet = build(variant), build(variant, fold=True)
  v = random_variables(net)
  fv = bn_fold.fold_variables(v, model_config(variant))
  # One program for both (compile time on CPU).
  both = jax.jit(lambda v, fv, x: (net.apply(v, x, ADJ),
                                   fnet.apply(fv, x, ADJ)))
  want, got = both(v, fv, X)
  assert set(got) == set(want)
  for key in want:
    a, b = jax.tree.leaves(want[key]), jax.tree.leaves(got[key])
    assert len(a) == len(b)
    for x, y in zip(a, b):
      assert x.dtype == y.dtype and x.dtype in (jnp.float32, jnp.bool_)
      x, y = np.asarray(x), np.asarray(y)
      if x.dtype == bool:                  # masks: thresholded, identical.
        np.testing.assert_array_equal(y, x, err_msg=f'{variant}: {key}')
        continue
      scale = max(float(np.max(np.abs(x))), 1e-6)
      np.testing.assert_allclose(y, x, rtol=1e-5, atol=1e-5 * scale,
                                 err_msg=f'{variant}: {key}')
  # Not trivially equal: folding changed the kernels.
  conv1 = lambda t: np.asarray(t['params']['backbone']['conv1']['kernel'])
  assert np.max(np.abs(conv1(fv) - conv1(v))) > 0.1


@pytest.mark.parametrize('variant', list(VARIANTS))
def test_folded_tree_is_the_folded_models_tree(variant):
  v = random_variables(build(variant))
  fv = bn_fold.fold_variables(v, model_config(variant))
  assert set(fv) == {'params'}
  want = shapes(build(variant, fold=True))
  assert set(want) == {'params'}        # the folded model has no statistics.
  assert tree_paths(fv) == tree_paths(want)
  modules = {k for p in tree_paths(fv) for k in p.strip("[]'").split("']['")}
  assert not {m for m in modules if bn_fold.conv_name_for(m)}
  assert {dt for _, dt in tree_paths(fv).values()} == {jnp.dtype('float32')}
  # Every BatchNorm (2 params + 2 statistics) went; a bias per folded conv.
  n_bn = sum('scale' in k for k in tree_paths(v))
  n_bn_convs = n_bn - (VARIANTS[variant][1] == 'released')   # bn1_0 + bn1_1.
  assert len(tree_paths(v)) - 4 * n_bn + n_bn_convs == len(tree_paths(fv))
  # Parameters of modules without BatchNorm are passed through unchanged.
  head = 'classifier'
  np.testing.assert_array_equal(fv['params'][head]['Dense_0']['kernel'],
                                v['params'][head]['Dense_0']['kernel'])


# ---- one convolution + BatchNorm against plain numpy (float64) ----------


def np_conv(x, kernel, bias=None, stride=1, groups=1):
  """NHWC convolution, symmetric padding k // 2, by explicit patch sums."""
  kh, kw, cin_g, cout = kernel.shape
  ph, pw = kh // 2, kw // 2
  x = np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
  b, h, w, _ = x.shape
  oh, ow = (h - kh) // stride + 1, (w - kw) // stride + 1
  out = np.zeros((b, oh, ow, cout))
  cout_g = cout // groups
  for o in range(cout):
    g = o // cout_g
    for i in range(oh):
      for j in range(ow):
        patch = x[:, i * stride:i * stride + kh, j * stride:j * stride + kw,
                  g * cin_g:(g + 1) * cin_g]
        out[:, i, j, o] = np.sum(patch * kernel[..., o], axis=(1, 2, 3))
  return out if bias is None else out + bias


def np_batch_norm(z, p, s):
  return (z - s['mean']) / np.sqrt(s['var'] + BN_EPSILON) * p['scale'] + p['bias']


def bn_vars(rng, c):
  return ({'scale': rng.uniform(-2, 2, c), 'bias': rng.normal(size=c)},
          {'mean': rng.normal(size=c), 'var': rng.uniform(0.1, 3, c)})


def as_f32(tree):
  return jax.tree.map(lambda a: np.asarray(a, np.float32), tree)


def test_single_conv_and_batch_norm_against_numpy():
  rng = np.random.default_rng(1)
  kernel = rng.normal(size=(3, 3, 4, 6))
  grouped = rng.normal(size=(1, 1, 3, 6))          # groups=2, with a bias.
  gbias = rng.normal(size=6)
  p1, s1 = bn_vars(rng, 6)
  p2, s2 = bn_vars(rng, 6)
  variables = {'params': {'conv1': {'kernel': kernel}, 'bn1': p1,
                          'sub': {'downsample_conv': {'kernel': grouped,
                                                      'bias': gbias},
                                  'downsample_bn': p2}},
               'batch_stats': {'bn1': s1, 'sub': {'downsample_bn': s2}}}
  folded = bn_fold.fold_variables(as_f32(variables),
                                  ml_collections.ConfigDict({}))['params']
  x = rng.normal(size=(2, 5, 6, 4))
  want = np_batch_norm(np_conv(x, kernel, stride=2), p1, s1)
  got = np_conv(x, np.float64(folded['conv1']['kernel']),
                np.float64(folded['conv1']['bias']), stride=2)
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
  x = rng.normal(size=(2, 4, 3, 6))
  want = np_batch_norm(np_conv(x, grouped, gbias, groups=2), p2, s2)
  sub = folded['sub']['downsample_conv']
  got = np_conv(x, np.float64(sub['kernel']), np.float64(sub['bias']),
                groups=2)
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
  assert set(folded) == {'conv1', 'sub'} and set(folded['sub']) == {
      'downsample_conv'}


def test_released_stem_double_batch_norm_against_numpy():
  rng = np.random.default_rng(2)
  k5, k3 = rng.normal(size=(5, 5, 3, 4)), rng.normal(size=(3, 3, 3, 4))
  p0, s0 = bn_vars(rng, 4)
  p1, s1 = bn_vars(rng, 4)
  variables = as_f32({
      'params': {'conv1_0': {'kernel': k5}, 'conv1_1': {'kernel': k3},
                 'bn1_0': p0, 'bn1_1': p1},
      'batch_stats': {'bn1_0': s0, 'bn1_1': s1}})
  x = rng.normal(size=(1, 6, 5, 3))
  released = ml_collections.ConfigDict({'backbone': 'gtc',
                                        'stem_bn': 'released'})
  f = bn_fold.fold_variables(variables, released)['params']
  assert set(f) == {'conv1_0', 'conv1_1'} and set(f['conv1_1']) == {'kernel'}
  want = np_batch_norm(np_batch_norm(np_conv(x, k5), p0, s0), p1, s1)
  got = np_conv(x, np.float64(f['conv1_0']['kernel']),
                np.float64(f['conv1_0']['bias']))
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
  np.testing.assert_array_equal(f['conv1_1']['kernel'],
                                variables['params']['conv1_1']['kernel'])
  # 'paper': bn1_1 follows conv1_1 instead.
  paper = ml_collections.ConfigDict({'backbone': 'gtc', 'stem_bn': 'paper'})
  f = bn_fold.fold_variables(variables, paper)['params']
  want = np_batch_norm(np_conv(x, k3), p1, s1)
  got = np_conv(x, np.float64(f['conv1_1']['kernel']),
                np.float64(f['conv1_1']['bias']))
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


# ---- errors and config ----------------------------------------------------


@pytest.mark.parametrize('variant', ['gtc_paper', 'resnet50', 'detection_gtc'])
def test_folded_model_refuses_train_mode(variant):
  fnet = build(variant, fold=True)
  fv = shapes(fnet)
  with pytest.raises(ValueError, match=r'fold_bn=True .* train=True'):
    jax.eval_shape(lambda v, x: fnet.apply(
        v, x, ADJ, train=True, mutable=['batch_stats'],
        rngs={'dropout': jax.random.key(0)}), fv, X)


def test_batch_norm_without_its_convolution_raises():
  cfg = ml_collections.ConfigDict({})
  one = np.ones(4, np.float32)
  bn, stats = {'scale': one, 'bias': one}, {'mean': one, 'var': one}
  conv = {'kernel': np.ones((1, 1, 4, 4), np.float32)}
  with pytest.raises(bn_fold.FoldError, match=r'backbone/bn7: no convolution'
                     r' backbone/conv7'):
    bn_fold.fold_variables({'params': {'backbone': {'conv1': conv, 'bn7': bn}},
                            'batch_stats': {'backbone': {'bn7': stats}}}, cfg)
  with pytest.raises(bn_fold.FoldError, match=r'stages/downsample_bn: running'
                     r' statistics'):
    bn_fold.fold_variables({'params': {'stages': {
        'downsample_conv': conv, 'downsample_bn': bn}}}, cfg)
  with pytest.raises(bn_fold.FoldError, match=r'BatchNorm norm: no convolution'):
    bn_fold.fold_variables({'params': {'norm': bn},   # stats mark it as BN.
                            'batch_stats': {'norm': stats}}, cfg)
  with pytest.raises(bn_fold.FoldError, match=r'bn1 has \(4,\) channels'):
    bn_fold.fold_variables(
        {'params': {'conv1': {'kernel': np.ones((1, 1, 4, 3), np.float32)},
                    'bn1': bn}, 'batch_stats': {'bn1': stats}}, cfg)
  with pytest.raises(bn_fold.FoldError, match='bn1.*parameters'):
    bn_fold.fold_variables({'params': {'conv1': conv},
                            'batch_stats': {'bn1': stats}}, cfg)


def test_default_is_unfolded_and_old_configs_build():
  assert default.get_config().model.fold_bn is False
  old = tiny.get_config().model           # a config.json saved before the field.
  del old['fold_bn']
  assert build_model(old).backbone.fold_bn is False
  net, fv = bn_fold.folded(old, random_variables(build_model(old)))
  assert net.backbone.fold_bn is True and 'fold_bn' not in old
  assert tree_paths(fv) == tree_paths(shapes(net))
