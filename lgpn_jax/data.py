"""The data set a config names, prepared on disk: ``builder(config)``.

The one bridge from ``config.data`` to ``input_pipeline`` (TensorFlow is
imported there, when this is called, never at import time). Training and
evaluation open their data only through here, so both read the same build.
"""

from __future__ import annotations

import jax


def build_options(data_cfg) -> dict:
  """``input_pipeline.builders.ensure_built`` options of ``config.data``.

  Synthetic build options come from ``synthetic_image_size`` (None: the
  training ``image_size``), ``images_per_gm`` and ``num_real`` (None: the
  builder's defaults). RED140's are ``store_size`` (None or 0: native sizes)
  and ``manual_dir`` (for the first build). A store size other than
  ``image_size`` would resize every image twice (stored size, then training
  size), which is not the input of one resize: refused with a ValueError.
  """
  opts = {}
  if data_cfg.dataset == 'synthetic':
    opts['image_size'] = data_cfg.synthetic_image_size or data_cfg.image_size
    for k in ('images_per_gm', 'num_real'):
      if data_cfg[k] is not None:
        opts[k] = data_cfg[k]
    return opts
  store = data_cfg.store_size or 0
  if store and store != data_cfg.image_size:
    raise ValueError(
        f'config.data.store_size={store} but data.image_size='
        f'{data_cfg.image_size}: every image would be resized twice; set '
        f'data.store_size to {data_cfg.image_size}, or 0 to store native '
        'sizes')
  return dict(store_size=store, manual_dir=data_cfg.manual_dir or None)


def builder(config):
  """The prepared TFDS builder of ``config.data`` (building it if needed).

  Process 0 builds first; the others wait, then open the same build. Only
  process 0 says that it reuses a build, once per process (training and the
  evaluation after it open the same build).
  """
  from input_pipeline import DATASETS, builders  # TensorFlow: here only.
  d = config.data
  if d.dataset not in DATASETS:
    raise ValueError(f'config.data.dataset must be one of {DATASETS}, got '
                     f'{d.dataset!r}')
  kwargs = build_options(d)
  data_dir = d.data_dir or None
  main = jax.process_index() == 0
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils
    if main:
      builders.ensure_built(d.dataset, data_dir, **kwargs)
    multihost_utils.sync_global_devices('lgpn_data_built')
  key = (d.dataset, data_dir, tuple(sorted(kwargs.items())))
  b = builders.ensure_built(d.dataset, data_dir,
                            verbose=main and key not in _OPENED, **kwargs)
  _OPENED.add(key)
  return b


_OPENED: set = set()                # builds this process has opened.


def split_sizes(builder) -> dict[str, int]:
  """{split: examples} of a prepared builder, in the builder's split order."""
  from input_pipeline import splits
  have = builder.info.splits
  return {s: int(have[s].num_examples) for s in splits.all_splits()
          if s in have}


def fold_splits(builder, fold: int, protocol: str) -> tuple[list, list]:
  """(train split names, test split names) of a RED140 fold in this build."""
  from input_pipeline import splits
  train, test = splits.fold_splits(fold, protocol, builder.info.splits.keys())
  return train.split('+'), test.split('+')
