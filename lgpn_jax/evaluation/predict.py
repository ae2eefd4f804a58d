"""Parse images with a trained fold: the library behind ``predict.py``.

  report = predict(workdir, 'photo.jpg', fold=1)     # also lgpn_jax.predict
  report['images'][0]['p_generated'], report['images'][0]['looks']

``predict(workdir, image, fold=k, config=None)`` loads ``<workdir>/fold<k>/``
and returns a dict: the fold, checkpoint step and image size, and per image
what ``predict_report.image_entry`` says (P(generated) first; the
hyperparameters only for images that look generated, unless ``force``),
plus ``errors`` (every file that could not be read, with the reason) and
``skipped`` (folder entries without an image extension). ``run`` prints the
same report as text and can write it as JSON or CSV (``--out``).

The fold decides the model and the input size: both come from the fold's
saved ``config.json`` (the architecture and image size its checkpoint was
trained with). A ``config`` given as well must agree with it on every field
that defines the fold (``lgpn_jax/fold_identity.py``: model, image size,
data, graph, ...); a disagreement is an error that names each field with both
values (folds without ``config.json`` use ``config``).

Images are read exactly as training reads them: the file's bytes go through
the data builder's reading, check and conversion
(``input_pipeline.image_files``: regular files up to the build's size limit;
16-bit, palette, alpha, CMYK, WebP, BMP, TIFF ... -> 8-bit RGB; decompression
bombs refused), the build's resize where the fold's data set stores images
resized (``input_pipeline.resize.encoded_at``, RED140's ``store_size``), and
then the training pipeline's decoder (``input_pipeline.pipeline.
decode_image``: bilinear resize with antialiasing to the fold's size, skipped
at that size, scaled to [-1, 1]). A folder is
read without recursion; files with an extension Pillow opens are images, so
a folder accepts what a build accepts. An unreadable file is reported and
the others are still predicted.
"""

from __future__ import annotations

import os
import sys
from typing import Callable, Sequence, TextIO

import jax
import numpy as np

from lgpn_jax import data, files, fold_identity, rundir
from lgpn_jax.evaluation import inference, predict_report
from lgpn_jax.evaluation.fold_model import FoldModel, load_fold_model
from lgpn_jax.evaluation.parsing import regression
from lgpn_jax.models.build import build_model
from lgpn_jax.red140 import folds, schema


class ImageError(ValueError):
  """An image that cannot be read (the message says why, without the path)."""


def image_extensions() -> frozenset[str]:
  """Lower-case extensions of every format Pillow can open."""
  from PIL import Image
  Image.init()
  return frozenset(ext for ext, fmt in Image.registered_extensions().items()
                   if fmt in Image.OPEN)


def list_images(path: str) -> tuple[list[str], list[str]]:
  """(images, skipped): the image itself, or a folder's files with an image
  extension (sorted) and the names of its other files."""
  if os.path.isdir(path):
    exts = image_extensions()
    names = sorted(f for f in os.listdir(path)
                   if not os.path.isdir(os.path.join(path, f)))
    images = [os.path.join(path, f) for f in names
              if os.path.splitext(f)[1].lower() in exts]
    skipped = [f for f in names if os.path.splitext(f)[1].lower() not in exts]
    if not images:
      raise FileNotFoundError(f'no image file in folder {path} (extensions '
                              'Pillow opens: .png, .jpg, .webp, .bmp, .tif, '
                              '...)')
    return images, skipped
  if not os.path.exists(path):
    raise FileNotFoundError(f'no such image or folder: {path}')
  return [path], []


def read_image(path: str, image_size: int, store_size: int = 0) -> np.ndarray:
  """[S, S, 3] float32 in [-1, 1], as training reads the image: the build's
  check and conversion, the build's resize to ``store_size`` (RED140 builds
  store images at the training size; 0: stored as found), then the read
  path's decoding and resize. A symbolic link given here is followed (a
  build follows none: it walks folders; here the user names the file)."""
  import input_pipeline
  from input_pipeline import image_files, pipeline, resize
  try:
    raw = image_files.read_file(os.path.realpath(path),
                                input_pipeline.MAX_FILE_MB << 20)
    encoded = image_files.load(raw).data
    if store_size:
      encoded = resize.encoded_at(encoded, int(store_size))
  except image_files.UnreadableImage as e:
    raise ImageError(str(e)) from None
  except OSError as e:                     # e.g. a directory.
    raise ImageError(f'cannot read: {e.strerror or e}') from None
  return np.asarray(pipeline.decode_image(encoded, int(image_size)),
                    np.float32)


# ------------------------------------------------------------------ the fold
def fold_config(fold_dir: str, config=None):
  """The config to predict with: the fold's saved one (``config``, when
  given, must agree with it on every field that defines the fold:
  ``lgpn_jax/fold_identity.py``), else ``config``."""
  if not os.path.isdir(fold_dir):
    raise FileNotFoundError(f'no fold directory {fold_dir}: train the fold '
                            'first (train.py), or make one from weights '
                            '(convert.py --workdir)')
  if not rundir.has_config(fold_dir):
    if config is None:
      raise FileNotFoundError(f'{fold_dir} has no config.json: pass the '
                              'config it was trained with (--config)')
    return config
  saved = rundir.load_fold_config(fold_dir)
  if config is not None:
    given = config.copy_and_resolve_references()
    with given.unlocked():
      given.fold = rundir.fold_of(fold_dir, saved.get('fold'))
    diffs = fold_identity.differences(saved, given)
    if diffs:
      raise fold_identity.FoldMismatch(
          f'the config disagrees with the fold it would predict with '
          f'({os.path.join(fold_dir, rundir.CONFIG_JSON)}): '
          f'{fold_identity.describe(diffs)}. Leave out --config to use the '
          'fold\'s own config.')
  return saved


def stored_size(config) -> int:
  """The side the fold's data set stores its images at (0: as found)."""
  if 'store_size' not in config.data:
    return 0                # saved before builds stored resized images.
  return int(data.build_options(config.data).get('store_size') or 0)


def load_regression(fold_dir: str, step: int | None):
  """The fold's regression stage if it was fitted to checkpoint ``step``
  (an older fit maps other features: it is not used), else None."""
  path = rundir.regression_path(fold_dir)
  if not os.path.exists(path):
    return None
  head = regression.RegressionHead.load(path)
  if head.normaliser is None or head.step != step:
    return None
  return head


def fold_to_use(workdir: str, fold: int | None) -> int:
  """``fold`` (checked: 1-4), or the work directory's only fold."""
  fold = only_fold(workdir) if fold is None else int(fold)
  folds.check_fold(fold)
  return fold


def only_fold(workdir: str) -> int:
  """The fold of a work directory holding exactly one ``fold<k>``."""
  present = rundir.present_folds(workdir)
  if len(present) != 1:
    raise ValueError(f'{workdir} holds folds {present or "none"}: choose one '
                     'with --fold')
  return present[0]


# --------------------------------------------------------------- prediction
def predict(workdir: str, images: str | Sequence[str], *,
            fold: int | None = None, config=None, force: bool = False,
            batch_size: int = 16, model_state: FoldModel | None = None,
            build: Callable = build_model) -> dict:
  """The report of ``images`` (a file, a folder, or a list of files) as a
  dict (see the module doc). ``fold`` None: the work directory's only fold.
  ``build`` makes the model from the fold's model config (the task's
  ``build_model``: LGPN's or FEN-PN's).
  """
  fold = fold_to_use(workdir, fold)
  fdir = rundir.fold_dir(workdir, fold)
  cfg = fold_config(fdir, config)
  if isinstance(images, (str, os.PathLike)):
    paths, skipped = list_images(os.fspath(images))
  else:
    paths, skipped = [os.fspath(p) for p in images], []
  state = model_state or load_fold_model(cfg, fdir, build)
  head = load_regression(fdir, state.step)
  ranges = predict_report.training_ranges(state.fold, state.protocol)
  predictor = inference.Predictor(state.model, state.variables,
                                  state.adjacency,
                                  devices=jax.local_devices()[:1])
  size = int(cfg.data.image_size)
  store = stored_size(cfg)
  report = dict(fold=state.fold, fold_dir=fdir, checkpoint_step=state.step,
                image_size=size, protocol=state.protocol,
                threshold=predict_report.THRESHOLD,
                regression=head is not None, images=[], errors=[],
                skipped=skipped)
  for start in range(0, len(paths), batch_size):
    names, batch = [], []
    for path in paths[start:start + batch_size]:
      try:
        batch.append(read_image(path, size, store))
        names.append(path)
      except ImageError as e:
        report['errors'].append(dict(path=path, reason=str(e)))
    if not batch:
      continue
    res = predictor(np.stack(batch))
    raw = head.predict_raw(res['continuous_features']) if head else None
    for i, name in enumerate(names):
      p_gen = (float(res['p_generated'][i]) if 'p_generated' in res
               else None)
      regressed = (dict(zip(schema.CONTINUOUS_COLUMNS, raw[i].tolist()))
                   if raw is not None else None)
      report['images'].append(predict_report.image_entry(
          name, res['probabilities'][i], p_gen, regressed, ranges, force))
  return report


def _out_format(path: str) -> str:
  ext = os.path.splitext(path)[1].lower()
  if ext not in ('.json', '.csv'):
    raise ValueError(f'--out must end in .json or .csv, got {path!r}')
  return ext


def write_report(report: dict, path: str) -> str:
  """``report`` as JSON (``.json``) or CSV (``.csv``, one row per image)."""
  if _out_format(path) == '.json':
    return files.write_json(report, path)
  return files.write_text(predict_report.to_csv(report), path)


def run(config, workdir: str, fold: int | None, image: str, *,
        force: bool = False, out_path: str | None = None,
        model_state: FoldModel | None = None, batch_size: int = 16,
        build: Callable = build_model,
        out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
  """Prints the report (and writes ``out_path``); returns the exit status:
  0 when every image was read, 1 when some could not be."""
  if out_path is not None:
    _out_format(out_path)               # a bad --out fails before the work.
  report = predict(workdir, image, fold=fold, config=config, force=force,
                   batch_size=batch_size, model_state=model_state,
                   build=build)
  if not report['regression']:
    print(f'note: no {rundir.REGRESSION_NPZ} fitted to this checkpoint in '
          f'{report["fold_dir"]}; run eval.py for regressed continuous values '
          '(bins are shown)', file=err)
  for e in report['errors']:
    print(f'error: cannot read {e["path"]}: {e["reason"]}', file=err)
  if report['skipped']:
    print(f'note: skipped {len(report["skipped"])} file(s) without an image '
          f'extension: {", ".join(report["skipped"][:5])}'
          + (' ...' if len(report['skipped']) > 5 else ''), file=err)
  step = report['checkpoint_step']
  for entry in report['images']:
    print(f'== {entry["path"]} (fold {report["fold"]} model'
          + (f', step {step})' if step is not None else ')'), file=out)
    print(predict_report.format_entry(entry), file=out)
  looks = [e['looks'] for e in report['images']]
  if len(looks) + len(report['errors']) > 1:
    print(f'{len(looks)} image(s) parsed: {looks.count("generated")} look '
          f'generated, {looks.count("real")} look real; '
          f'{len(report["errors"])} unreadable', file=out)
  if out_path is not None:
    print(f'wrote {write_report(report, out_path)}', file=out)
  return 1 if report['errors'] else 0
