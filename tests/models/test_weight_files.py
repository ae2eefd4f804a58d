"""Weight files -> numpy state_dicts (models/weight_files.py): .safetensors
parsed with numpy, .pth only with torch, one-line errors for bad files."""

import importlib.util

import numpy as np
import pytest

from lgpn_jax.models import weight_files

HAS_TORCH = importlib.util.find_spec('torch') is not None


def test_safetensors_round_trip(tmp_path, write_safetensors):
  rng = np.random.default_rng(3)
  f32 = rng.standard_normal((3, 2, 5)).astype(np.float32)
  f16 = rng.standard_normal((4, 3)).astype(np.float16)
  bits = rng.standard_normal((2, 7)).astype(np.float32).view(np.uint32)
  bf16 = (bits & np.uint32(0xFFFF0000)).view(np.float32)   # bf16-exact values
  i64 = np.array(123456789012, np.int64)
  path = tmp_path / 'w.safetensors'
  write_safetensors(path, {
      'a.weight': ('F32', [3, 2, 5], f32.astype('<f4').tobytes()),
      'b.weight': ('F16', [4, 3], f16.astype('<f2').tobytes()),
      'c.weight': ('BF16', [2, 7], (bits >> 16).astype('<u2').tobytes()),
      'd.num_batches_tracked': ('I64', [], i64.astype('<i8').tobytes()),
      'e.empty': ('F32', [0, 4], b''),
  })
  sd = weight_files.read_state_dict(path)
  assert sorted(sd) == ['a.weight', 'b.weight', 'c.weight',
                        'd.num_batches_tracked', 'e.empty']
  for key, want in (('a.weight', f32), ('b.weight', f16), ('c.weight', bf16),
                    ('d.num_batches_tracked', i64)):
    assert sd[key].dtype == want.dtype and sd[key].shape == want.shape, key
    np.testing.assert_array_equal(sd[key], want)
  assert sd['e.empty'].shape == (0, 4)


def one_line_error(fn, *args) -> str:
  with pytest.raises(weight_files.WeightFileError) as e:
    fn(*args)
  message = str(e.value)
  assert '\n' not in message, message
  return message


def test_safetensors_errors(tmp_path, write_safetensors):
  path = tmp_path / 'w.safetensors'
  raw = np.arange(12, dtype='<f4').tobytes()
  write_safetensors(path, {'w': ('F32', [3, 4], raw)})
  whole = path.read_bytes()
  path.write_bytes(whole[:-5])
  assert 'truncated' in one_line_error(weight_files.read_state_dict, path)
  path.write_bytes(whole[:30])       # cut inside the header
  assert 'truncated' in one_line_error(weight_files.read_state_dict, path)
  path.write_bytes(whole[:5])
  assert 'truncated' in one_line_error(weight_files.read_state_dict, path)
  path.write_bytes((6).to_bytes(8, 'little') + b'{"w": ' + raw)
  assert 'not JSON' in one_line_error(weight_files.read_state_dict, path)
  write_safetensors(path, {'w': ('F8_E4M3', [12], raw[:12])})
  message = one_line_error(weight_files.read_state_dict, path)
  assert 'F8_E4M3' in message and "'w'" in message
  write_safetensors(path, {'w': ('F32', [5, 4], raw)})   # 80 bytes claimed
  assert 'data_offsets' in one_line_error(weight_files.read_state_dict, path)
  other = tmp_path / 'w.npz'
  other.write_bytes(b'x')
  assert '.npz' in one_line_error(weight_files.read_state_dict, other)


@pytest.mark.skipif(HAS_TORCH, reason='torch is installed: .pth files are '
                    'read with it')
def test_pth_without_torch(tmp_path):
  path = tmp_path / 'resnet50-19c8e357.pth'
  path.write_bytes(b'not read')
  message = one_line_error(weight_files.read_state_dict, path)
  assert 'pip install torch' in message and '.safetensors' in message
  assert "torch.load('resnet50-19c8e357.pth'" in message
  assert "'resnet50-19c8e357.safetensors'" in message
  recipe = message.split('python -c "', 1)[1]
  assert recipe.endswith('"')
  compile(recipe[:-1], 'recipe', 'exec')   # the conversion is valid Python
