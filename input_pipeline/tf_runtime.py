"""TensorFlow as the data layer uses it: imported here once, quiet, no GPUs.

Every module of ``input_pipeline`` that needs TensorFlow takes it from here
(``from input_pipeline.tf_runtime import tf, tfds``), so TensorFlow's C++ logs
are off (unless ``TF_CPP_MIN_LOG_LEVEL`` is set) and every GPU is hidden from
it before first use: the accelerators belong to JAX.
"""

import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import tensorflow as tf  # noqa: E402

tf.config.set_visible_devices([], 'GPU')

import tensorflow_datasets as tfds  # noqa: E402

__all__ = ['tf', 'tfds']
