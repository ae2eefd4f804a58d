"""The data layer of lgpn-jax: RED140 / synthetic RED builders and tf.data pipelines.

Importing this package is cheap and does not import TensorFlow; the modules that
do (``red140``, ``synthetic``, ``pipeline``, ``build``, ``benchmark``) hide every
GPU from TensorFlow before using it, so TF never takes accelerator memory.

Public entry points (see docs/DATA.md):
  * ``input_pipeline.build.ensure_built(name, data_dir, **opts)`` -> builder
  * ``input_pipeline.splits.fold_splits(fold, protocol)`` -> (train, test) split exprs
  * ``input_pipeline.pipeline.train_iterator`` / ``eval_iterator`` -> numpy batches
  * ``input_pipeline.device.to_global(batch, mesh)`` -> global jax.Arrays (no TF)
"""
