"""Shared set-up and fixtures of the test suite.

Every test sees 8 simulated CPU devices (set before JAX starts a backend).
Compiling is most of the suite's time, so XLA compiles the tests' programs
for speed of compiling (TEST_XLA_FLAGS): LLVM optimisation level 0 instead
of 2 and XLA's CPU loop emitters instead of its MLIR fusion emitters. The
tiny train step compiles in a third of the time and runs ~1.4x slower. Both
change code generation only, not the HLO, and fast-math stays off: results
agree with the default settings to float rounding, not bit for bit
(tests/test_codegen.py checks it). Subprocesses the tests start inherit the
flags; a setting already in XLA_FLAGS wins, and a flag this XLA does not know
is left out (XLA aborts on unknown flags).
Python's cyclic garbage collector runs less often than by default: tracing
and lowering allocate objects by the million, and each collection of the
older generations walks every live object of TensorFlow and JAX (the tiny
train step's trace and lowering: ~1.4 s instead of 1.9-2.7 s).

Fixtures shared across folders live here (test modules never import each
other): the tiny synthetic build (made once per session), helpers to read
its records, a fake model with known outputs and a fake evaluation report.
"""

import functools
import gc
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import types

gc.set_threshold(50_000, 20, 20)     # default (700, 10, 10).
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
TEST_XLA_FLAGS = ('--xla_backend_optimization_level=0',
                  '--xla_cpu_use_fusion_emitters=false')


def _xla_accepts(flags) -> bool:
  """Whether this XLA starts with ``flags`` in XLA_FLAGS (one short process)."""
  env = dict(os.environ, XLA_FLAGS=' '.join(flags), JAX_PLATFORMS='cpu')
  return subprocess.run([sys.executable, '-c', 'import jax; jax.devices()'],
                        env=env, capture_output=True).returncode == 0


_missing = [f for f in TEST_XLA_FLAGS
            if f.split('=')[0] not in os.environ.get('XLA_FLAGS', '')]
if _missing and not _xla_accepts(_missing):
  _missing = [f for f in _missing if _xla_accepts([f])]
os.environ['XLA_FLAGS'] = ' '.join(
    [os.environ.get('XLA_FLAGS', ''), *_missing]).strip()

import jax  # noqa: E402

jax.config.update('jax_num_cpu_devices', 8)
jax.config.update('jax_platforms', 'cpu')

CACHE_ENV = 'LGPN_JAX_COMPILATION_CACHE'     # lgpn_jax/compile_cache.py


def pytest_configure(config):
  """One persistent compilation cache per test run, in a fresh temporary
  folder (never the user's), shared by the test processes (pytest-xdist
  workers inherit it) and the commands they start: a program that several
  tests or processes compile is compiled once."""
  if not hasattr(config, 'workerinput'):         # the run's first process.
    os.environ[CACHE_ENV] = tempfile.mkdtemp(prefix='lgpn_jax_test_xla_')
    config.lgpn_cache = os.environ[CACHE_ENV]
  jax.config.update('jax_compilation_cache_dir', os.environ[CACHE_ENV])
  jax.config.update('jax_persistent_cache_min_compile_time_secs', 0.5)


def pytest_unconfigure(config):
  if getattr(config, 'lgpn_cache', None):
    shutil.rmtree(config.lgpn_cache, ignore_errors=True)

import flax.linen as nn  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402
import pytest  # noqa: E402

from lgpn_jax import mesh as mesh_lib  # noqa: E402

TINY = dict(image_size=32, images_per_gm=3, num_real=24, seed=0)
TINY_SHARDS = 2


@pytest.fixture(scope='session')
def tiny_build():
  """Build options of the tiny synthetic data set (a fresh copy)."""
  return dict(TINY)


@pytest.fixture(scope='session')
def tiny_shards():
  """Shard files per split of the tiny build."""
  return TINY_SHARDS


# Batch and optimizer of the training tests (tests/train, the experiment
# runner's end-to-end test): with the same ones the trainer's program cache
# compiles the tiny model's step (and state init) once per session.
TRAIN = dict(batch_size=32, learning_rate=2e-3, lr_decay_steps=100,
             warmup_steps=20)


@pytest.fixture(scope='session')
def train_overrides():
  """config.train overrides shared by the training tests (a fresh copy)."""
  return dict(TRAIN)


@pytest.fixture(scope='session')
def synthetic_dir(tmp_path_factory):
  """The TFDS data_dir holding the tiny synthetic build."""
  root = tmp_path_factory.getbasetemp() / 'synthetic_tiny'
  from input_pipeline import builders
  builders.ensure_built('synthetic', str(root), num_shards=TINY_SHARDS,
                        verbose=False, **TINY)
  return str(root)


@pytest.fixture(scope='session')
def synced_bn_equals_global():
  """``check(step, net, net_sync, variables, x, ref=None)``: ``step(net,
  variables, x) -> (outputs, batch_stats)``; ``net_sync`` (BatchNorm over
  the 'data' axis) run on 8 devices of one image each gives the outputs and
  statistics of ``net`` on the whole batch on one device (``ref``, when
  given, is that reference already computed)."""

  def check(step, net, net_sync, variables, x, ref=None):
    if ref is None:
      ref = jax.jit(functools.partial(step, net))(variables, x)
    mesh = mesh_lib.make_mesh(jax.devices()[:8])
    got = jax.jit(jax.shard_map(
        functools.partial(step, net_sync), mesh=mesh,
        in_specs=(P(), P(mesh_lib.AXIS)), out_specs=(P(mesh_lib.AXIS), P()),
        check_vma=False))(variables, x)
    for g, r in zip(got, ref):
      jax.tree.map(functools.partial(np.testing.assert_allclose, rtol=2e-4,
                                     atol=2e-5), g, r)

  return check


@pytest.fixture(scope='session')
def on_tiny_build(synthetic_dir):
  """``on_tiny_build(config)``: ``config`` (changed and returned) reading the
  tiny synthetic build: its data_dir and generation options."""

  def use(config):
    d = config.data
    d.data_dir = synthetic_dir
    d.images_per_gm, d.num_real = TINY['images_per_gm'], TINY['num_real']
    return config

  return use


@pytest.fixture(scope='session')
def synthetic_builder(synthetic_dir):
  from input_pipeline import builders
  return builders.ensure_built('synthetic', synthetic_dir,
                               num_shards=TINY_SHARDS, verbose=False, **TINY)


def _read_records(builder, split_expr):
  """Every example of ``split_expr`` as a list of numpy dicts (image bytes)."""
  from input_pipeline import pipeline
  from input_pipeline.tf_runtime import tf, tfds
  files, _ = pipeline.stream_files(builder, split_expr)
  skip = {'image': tfds.decode.SkipDecoding()}
  out = []
  for rec in tf.data.TFRecordDataset(files):
    ex = builder.info.features.deserialize_example(rec, decoders=skip)
    out.append({k: v.numpy() for k, v in ex.items()})
  return out


def _shard_contents(version_dir):
  """{shard file name: its records}, each record re-serialised with sorted
  fields: the same examples in the same order compare equal, whatever order
  protobuf wrote an example's fields in (it may differ between processes)."""
  from input_pipeline.tf_runtime import tf
  out = {}
  for name in sorted(os.listdir(version_dir)):
    if '.tfrecord-' in name:
      out[name] = [tf.train.Example.FromString(r.numpy()).SerializeToString(
          deterministic=True) for r in tf.data.TFRecordDataset(
              os.path.join(version_dir, name))]
  return out


def _encode(img, fmt: str, **kw) -> bytes:
  """A PIL image encoded as ``fmt`` bytes."""
  buf = io.BytesIO()
  img.save(buf, format=fmt, **kw)
  return buf.getvalue()


@pytest.fixture(scope='session')
def read_records():
  return _read_records


@pytest.fixture(scope='session')
def shard_contents():
  return _shard_contents


@pytest.fixture(scope='session')
def encode():
  return _encode


class FakeModel(nn.Module):
  """Fixed outputs: P(node j = 1) = sigmoid(x00 * (j - 27)), features = x00,
  P(generated) = sigmoid(4 x00) (white: 0.982, black: 0.018)."""
  two_way: bool = False

  @nn.compact
  def __call__(self, images, adjacency, train=False):
    s = images[:, 0, 0, 0]
    logits = s[:, None] * (jnp.arange(55) - 27.0)
    if self.two_way:
      logits = jnp.stack([jnp.zeros_like(logits), logits], -1)
    feats = jnp.broadcast_to(s[:, None, None], (s.shape[0], 55, 4))
    return dict(node_logits=logits, node_features=feats,
                real_fake_logits=jnp.stack([jnp.zeros_like(s), 4 * s], -1),
                masks=(jnp.broadcast_to(adjacency, (s.shape[0], 55, 55)),))


@pytest.fixture(scope='session')
def fake_model():
  """The FakeModel class (an LGPN stand-in with known outputs)."""
  return FakeModel


def _fake_report(loss_f1, l1, protocol='paper'):
  summary = dict(loss_f1=loss_f1, loss_accuracy=0.8, discrete_f1=0.7,
                 discrete_accuracy=0.6, continuous_bin_f1=0.5,
                 continuous_bin_accuracy=0.5, continuous_l1=l1)
  return dict(summary=summary, baseline_majority=dict(summary=summary),
              coordinated_attack=dict(unseen=dict(auc=0.9, accuracy=0.8,
                                                  pd_at_far=0.5)),
              num_generated_images=10, protocol=protocol,
              images_per_prediction=1)


@pytest.fixture(scope='session')
def fake_report():
  """fake_report(loss_f1, l1, protocol) -> a minimal eval_fold JSON dict."""
  return _fake_report


_SAFETENSORS_CODES = {np.dtype('float32'): 'F32', np.dtype('float16'): 'F16',
                      np.dtype('float64'): 'F64', np.dtype('int64'): 'I64',
                      np.dtype('int32'): 'I32'}


def _write_safetensors(path, tensors):
  """{name: numpy array, or (dtype code, shape, raw little-endian bytes)}
  -> a .safetensors file (header padded to 8 bytes, as writers do)."""
  header, blobs, offset = {'__metadata__': {'format': 'pt'}}, [], 0
  for name, value in tensors.items():
    if isinstance(value, tuple):
      code, shape, raw = value
    else:
      value = np.asarray(value)
      code, shape = _SAFETENSORS_CODES[value.dtype], list(value.shape)
      raw = value.astype(value.dtype.newbyteorder('<')).tobytes()
    header[name] = dict(dtype=code, shape=shape,
                        data_offsets=[offset, offset + len(raw)])
    blobs.append(raw)
    offset += len(raw)
  text = json.dumps(header).encode()
  text += b' ' * (-len(text) % 8)
  with open(path, 'wb') as f:
    f.write(len(text).to_bytes(8, 'little') + text + b''.join(blobs))
  return path


@pytest.fixture(scope='session')
def write_safetensors():
  """write_safetensors(path, {name: array or (code, shape, raw)})."""
  return _write_safetensors


# torchvision ResNet-50 state_dict keys and shapes, written from the
# architecture (not from our parameter tree), with random values.
def _bn_shapes(shapes: dict, name: str, channels: int) -> None:
  for leaf in ('weight', 'bias', 'running_mean', 'running_var'):
    shapes[f'{name}.{leaf}'] = (channels,)
  shapes[f'{name}.num_batches_tracked'] = ()


def _block_shapes(shapes: dict, name: str, inplanes: int, width: int,
                 downsample: bool) -> None:
  """torchvision Bottleneck keys: 1x1, 3x3, 1x1 (x4), projection on block 0."""
  shapes[f'{name}.conv1.weight'] = (width, inplanes, 1, 1)
  _bn_shapes(shapes, f'{name}.bn1', width)
  shapes[f'{name}.conv2.weight'] = (width, width, 3, 3)
  _bn_shapes(shapes, f'{name}.bn2', width)
  shapes[f'{name}.conv3.weight'] = (4 * width, width, 1, 1)
  _bn_shapes(shapes, f'{name}.bn3', 4 * width)
  if downsample:
    shapes[f'{name}.downsample.0.weight'] = (4 * width, inplanes, 1, 1)
    _bn_shapes(shapes, f'{name}.downsample.1', 4 * width)


def _resnet50_shapes() -> dict[str, tuple[int, ...]]:
  """torchvision.models.resnet50().state_dict() shapes, in its key order."""
  shapes = {'conv1.weight': (64, 3, 7, 7)}
  _bn_shapes(shapes, 'bn1', 64)
  inplanes = 64
  for s, (blocks, width) in enumerate(zip((3, 4, 6, 3), (64, 128, 256, 512))):
    for b in range(blocks):
      _block_shapes(shapes, f'layer{s + 1}.{b}', inplanes, width, b == 0)
      inplanes = 4 * width
  shapes['fc.weight'] = (1000, 2048)
  shapes['fc.bias'] = (1000,)
  return shapes


def _random_state_dict(shapes, seed=0) -> dict[str, np.ndarray]:
  rng = np.random.default_rng(seed)
  out = {}
  for key, shape in shapes.items():
    if key.endswith('num_batches_tracked'):
      out[key] = np.array(7, np.int64)
    elif key.endswith('running_var'):
      out[key] = rng.uniform(0.5, 2.0, shape).astype(np.float32)
    else:
      out[key] = (0.3 * rng.standard_normal(shape)).astype(np.float32)
  return out


@pytest.fixture(scope='session')
def torchvision_keys():
  """bn_shapes / block_shapes / resnet50_shapes / random_state_dict."""
  return types.SimpleNamespace(
      bn_shapes=_bn_shapes, block_shapes=_block_shapes,
      resnet50_shapes=_resnet50_shapes, random_state_dict=_random_state_dict)


@pytest.fixture(scope='session')
def imported_tiny_fold(tmp_path_factory):
  """A fold folder (fold 1 of configs/released_tiny.py) made from random
  weights in the authors' layout, as convert.py --workdir writes it:
  (config, state_dict, workdir). Treat it as read-only."""
  from configs import released_tiny
  from lgpn_jax.evaluation import imported_fold
  from lgpn_jax.models import synthetic_weights
  root = tmp_path_factory.mktemp('imported_tiny')
  config = released_tiny.get_config()
  sd = synthetic_weights.random_state_dict(config, seed=5)
  weights = synthetic_weights.write_safetensors(root / 'w.safetensors', sd)
  imported_fold.write_fold(str(weights), str(root / 'runs'), config, 1)
  return config, sd, str(root / 'runs')
