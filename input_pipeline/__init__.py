"""The data layer of lgpn-jax: RED140 / synthetic RED builders and tf.data pipelines.

The only package that imports TensorFlow (through ``tf_runtime``, which hides
every GPU from it first). Importing this package, ``build`` or ``benchmark``
does not import TensorFlow. Of the rest of the project it uses only
``lgpn_jax.red140`` (the label tables and folds) and ``lgpn_jax.cli``.

Public entry points (see docs/DATA.md):
  * ``input_pipeline.builders.ensure_built(name, data_dir, **opts)`` -> builder
  * ``input_pipeline.splits.fold_splits(fold, protocol)`` -> (train, test) split exprs
  * ``input_pipeline.pipeline.train_iterator`` / ``eval_iterator`` -> numpy batches
  * ``python -m input_pipeline.build`` / ``python -m input_pipeline.benchmark``
"""

DATASETS = ('synthetic', 'red140')
# RED140 build defaults, shared by the builder and the command line:
STORE_SIZE = 256     # stored side: the model's input size (configs/default.py).
MAX_FILE_MB = 64     # ~20x a 1024 px RGB PNG; a larger file is skipped unread.
