"""model.init_from through the task: a torchvision ResNet-50 file loads into
the paper config's GTC (abstract shapes: nothing is compiled)."""

import jax
import jax.numpy as jnp
import numpy as np

from configs import default
from lgpn_jax import tasks


def test_init_from_loads_a_safetensors_file_into_gtc(tmp_path, torchvision_keys,
                                                     write_safetensors):
  sd = torchvision_keys.random_state_dict(torchvision_keys.resnet50_shapes())
  path = write_safetensors(tmp_path / 'resnet50.safetensors', sd)
  config = default.get_config()
  config.model.init_from = str(path)
  task = tasks.get(config)
  model = task.build_model(config.model)
  images = jax.ShapeDtypeStruct((1, 64, 64, 3), jnp.float32)
  adjacency = jax.ShapeDtypeStruct((55, 55), jnp.float32)
  abstract = jax.eval_shape(lambda x, a: model.init(jax.random.key(0), x, a),
                            images, adjacency)
  variables, report = task.pretrained(dict(abstract))
  assert report.startswith(f'model.init_from={path}')
  assert 'mapped 265 source keys' in report and 'unexpected 0' in report
  kernel = variables['params']['backbone']['stages']['layer3_5']['conv2'][
      'kernel']
  np.testing.assert_array_equal(
      kernel, sd['layer3.5.conv2.weight'].transpose(2, 3, 1, 0))
  config.model.init_from = ''
  assert tasks.get(config).pretrained(variables) == (variables, None)
