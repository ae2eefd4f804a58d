"""A fold folder from the authors' weights: what convert.py --workdir writes.

``write_fold(weights, workdir, config, fold)`` reads a ``.pth`` /
``.safetensors`` state_dict of the reference ``LGP_Net``, converts it for
``config`` (``lgpn_jax/models/convert.py``: every shape checked, strict: a
missing or unexpected key is an error, since a fold with random leaves would
answer with confidence and mean nothing) and writes ``<workdir>/fold<k>/`` as
training would have left it, so eval.py and predict.py read it unchanged:
  config.json       ``config`` with ``fold = k``;
  adjacency.npy     the fold's correlation graph (its training GMs,
                    ``graph.tau``, ``data.protocol``): the reference builds
                    its graph from the training GMs of the same fold;
  checkpoints/0/    the ``model`` item ({'params', 'batch_stats'}) and a
                    ``train`` item holding only the step (0: no step was
                    trained here; there is no optimizer state to resume);
                    ``checkpoints_selected/0/`` for a released-selection
                    config (below);
  imported_weights.json  where the weights came from (path, size, SHA-256)
                    and the conversion report.
The authors trained one model per fold; import each into its own fold.

Their released script keeps the checkpoint with the lowest node loss on the
fold's test GMs, so their weights are that selection: with
``train.selection='released'`` (configs/released.py) the checkpoint goes
where a fold keeps its selected model (``checkpoints_selected/``, with a
``selection.json`` saying so), which evaluation reads and flags as
optimistic, as for a fold trained with that selection here.
"""

from __future__ import annotations

import hashlib
import os
import shutil

import ml_collections
import numpy as np

from lgpn_jax import checkpoint, files, rundir
from lgpn_jax.models import convert, weight_files
from lgpn_jax.red140 import folds, graphs

SELECTED_WARNING = (
    'imported weights of the authors\' released training, which selects its '
    'model on the test fold (the lowest node loss on the held-out GMs): the '
    'reported numbers are optimistic')


def _sha256(path: str) -> str:
  h = hashlib.sha256()
  with open(path, 'rb') as f:
    for chunk in iter(lambda: f.read(1 << 20), b''):
      h.update(chunk)
  return h.hexdigest()


def write_fold(weights: str, workdir: str, config, fold: int | None = None, *,
               trust_pickle: bool = False, overwrite: bool = False
               ) -> tuple[str, convert.ConversionReport]:
  """Writes ``<workdir>/fold<k>/`` from ``weights``; returns (the fold
  directory, the conversion report). ``fold`` None: ``config.fold``."""
  fold = int(config.fold if fold is None else fold)
  folds.check_fold(fold, config.data.protocol)
  fdir = os.path.abspath(rundir.fold_dir(workdir, fold))
  if os.path.exists(fdir) and os.listdir(fdir) and not overwrite:
    raise FileExistsError(f'{fdir} exists and is not empty (pass '
                          '--overwrite to replace it)')
  convert.check_config(config.model)
  state_dict = weight_files.read_state_dict(weights, trust_pickle=trust_pickle)
  variables, report = convert.convert_state_dict(state_dict, config,
                                                 strict=True)
  if os.path.exists(fdir):
    shutil.rmtree(fdir)
  cfg = ml_collections.ConfigDict(config.to_dict())
  cfg.fold = fold
  adjacency = graphs.fold_correlation_graph(fold, cfg.graph.tau,
                                            cfg.data.protocol)
  rundir.save_fold_files(fdir, cfg, adjacency)
  selected = cfg.train.get('selection', 'last') == 'released'
  mngr = checkpoint.manager(fdir, keep=1, selected=selected)
  try:
    checkpoint.save(mngr, 0, variables, {'step': np.zeros((), np.int32)})
    mngr.wait_until_finished()
  finally:
    mngr.close()
  if selected:
    files.write_json(dict(history=[], selected_step=0, loss=None,
                          warning=SELECTED_WARNING),
                     rundir.selection_path(fdir))
  files.write_json(dict(
      weights=os.path.abspath(weights), bytes=os.path.getsize(weights),
      sha256=_sha256(weights), fold=fold, protocol=cfg.data.protocol,
      mapped=len(report.mapped), ignored=len(report.ignored),
      warnings=report.warnings, report=report.summary()),
      rundir.imported_weights_path(fdir))
  return fdir, report
