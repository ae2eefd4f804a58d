"""Coordinated-attack detection (paper Sec. 4.2, Tab. 4(a); rebuttal): were two
images made by the same GM?

Protocol, per fold of the k-fold protocol:
  * descriptor of an image: its predicted loss vector (P(node = 1) of the 10
    loss nodes), discrete vector (P(node = 1) of the 18 discrete nodes) and
    continuous vector (the 9 regressed, normalised values) concatenated: 37
    numbers, the rebuttal's "concatenated predicted discrete, continuous and
    loss vector". Similarity: cosine; "same GM" when similarity >= threshold.
  * pair sets (``metrics.sample_pairs``: half same-GM, half different-GM,
    seeded):
      ``validation``: held-out images of the training GMs, first half
        (``selection.holdout_bucket`` < p / 2, p = selection.holdout_percent);
      ``seen``: held-out images of the training GMs, second half: GMs the
        model was trained on, images it never saw;
      ``unseen``: the fold's test GMs (unseen in training);
      ``mixed``: the seen and unseen images together (same-GM pairs within a
        GM, different-GM pairs across every GM of both).
  * threshold: the best-accuracy threshold of the validation pairs
    (``metrics.best_threshold``), applied unchanged to every set. Each set
    reports accuracy at it, AUC, Pd at ``far`` false-alarm rate and, for
    reference, ``oracle_accuracy`` at its own best threshold.
  * a fold trained without held-out images (holdout_percent 0) has only the
    unseen set: AUC, Pd@FAR and oracle accuracy, and ``accuracy`` null (no
    validation pairs to choose a threshold on).
Images are single (no multi-image averaging). ``HeldOutCollector`` gathers the
held-out images' outputs during the training-split pass of the evaluator.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Mapping

import numpy as np

from lgpn_jax.evaluation import metrics
from lgpn_jax.red140 import schema, selection as selection_lib

LOSS_NODES = schema.family_nodes('loss')
DISCRETE_NODES = schema.family_nodes('discrete')
SETS = ('validation', 'seen', 'unseen', 'mixed')
HELDOUT_KEYS = ('heldout_probabilities', 'heldout_features',
                'heldout_gm_index', 'heldout_bucket')

DEFINITION = (
    'Descriptor: [P(node=1) of the 10 loss nodes, P(node=1) of the 18 '
    'discrete nodes, the 9 regressed normalised continuous values] of one '
    'image; similarity: cosine. Pairs: half same-GM, half different-GM '
    '(metrics.sample_pairs, seeded). validation / seen: held-out images of '
    'the training GMs (never trained on; pixel-hash bucket < p/2 / >= p/2, '
    'p = selection.holdout_percent); unseen: the test GMs; mixed: seen and '
    'unseen images together. accuracy: at the threshold maximising accuracy '
    'on the validation pairs (null without held-out images); '
    'oracle_accuracy: at the set\'s own best threshold; AUC; pd_at_far: '
    'largest detection rate with false-alarm rate <= far. Single images.')


def descriptors(probabilities, regressed) -> np.ndarray:
  """[N, 37] descriptors: loss probabilities, discrete probabilities, regressed."""
  p = np.asarray(probabilities, np.float64)
  r = np.asarray(regressed, np.float64)
  return np.concatenate([p[:, LOSS_NODES], p[:, DISCRETE_NODES], r], axis=1)


def pair_similarities(desc, groups, num_pairs: int, seed: int
                      ) -> tuple[np.ndarray, np.ndarray]:
  """(cosine similarity [P], same GM [P]) of seeded pairs of the rows."""
  a, b, same = metrics.sample_pairs(groups, num_pairs, seed)
  if not len(a):
    return np.zeros(0), np.zeros(0, bool)
  return metrics.cosine_similarity(desc[a], desc[b]), same


def split_held_out(heldout: Mapping | None, percent: int
                   ) -> tuple[dict | None, dict | None]:
  """(validation rows, seen rows) of the held-out outputs by bucket."""
  if heldout is None or not len(heldout['gm_index']):
    return None, None
  val = np.asarray(heldout['bucket']) < percent / 2
  pick = lambda m: {k: np.asarray(v)[m] for k, v in heldout.items()}
  return pick(val), pick(~val)


def evaluate(unseen: Mapping, heldout: Mapping | None, *, holdout_percent: int,
             num_pairs: int, seed: int, far: float) -> tuple[dict, dict]:
  """(metrics per set, ROC curves per set) of the protocol above.

  ``unseen``: probabilities [N, 55], regressed [N, 9], gm_index [N] of the
  test images; ``heldout``: the same plus bucket [M] for the held-out images
  of the training GMs, or None.
  """
  rows = {'unseen': unseen}
  rows['validation'], rows['seen'] = split_held_out(heldout, holdout_percent)
  if rows['seen'] is not None:
    rows['mixed'] = {k: np.concatenate([np.asarray(rows['seen'][k]),
                                        np.asarray(unseen[k])])
                     for k in ('probabilities', 'regressed', 'gm_index')}
  pairs = {}
  for name in SETS:
    data = rows.get(name)
    if data is None or not len(data['gm_index']):
      continue
    desc = descriptors(data['probabilities'], data['regressed'])
    pairs[name] = pair_similarities(desc, data['gm_index'], num_pairs, seed)
  calibrated = 'validation' in pairs and len(pairs['validation'][0]) > 0
  out = metrics.attack_metrics(pairs, calibrate_on='validation', far=far)
  if not calibrated:   # each set's own best threshold is an oracle only.
    for m in out.values():
      if 'threshold' in m:
        m.update(threshold=None, accuracy=None)
  curves = {}
  for name, (sim, same) in pairs.items():
    if name != 'validation' and same.any() and (~same).any():
      fpr, tpr, _ = metrics.roc_curve(sim, same)
      curves[name] = (fpr, tpr)
  out.update(descriptor='loss (10) + discrete (18) probabilities + '
             'regressed continuous (9)', similarity='cosine',
             threshold_from='validation' if calibrated else None,
             holdout_percent=holdout_percent, pair_seed=seed,
             requested_pairs=num_pairs)
  return out, curves


# --------------------------------------------------- held-out image outputs
class HeldOutCollector:
  """Routes the held-out images of a training-split pass.

  ``wrap(batches)`` yields the batches with ``mask = 0`` on held-out
  generated images (so the regression stage and the cached training outputs
  never see them) and runs those images through ``predictor`` in batches of
  ``batch_size`` of their own (the same compiled shape); ``outputs()`` gives
  their probabilities, continuous features, gm_index and bucket under
  ``HELDOUT_KEYS``, plus ``heldout_percent``.
  """

  def __init__(self, sel: selection_lib.Selection, predictor, batch_size: int):
    self.sel = sel
    self.predictor = predictor
    self.batch_size = int(batch_size)
    self._buffer: dict[str, np.ndarray] | None = None   # images, gm, bucket.
    self._out: dict[str, list] = {k: [] for k in HELDOUT_KEYS}

  def _add(self, **rows) -> None:
    self._buffer = rows if self._buffer is None else {
        k: np.concatenate([self._buffer[k], v]) for k, v in rows.items()}

  def _flush(self, final: bool = False) -> None:
    while self._buffer is not None and (
        len(self._buffer['gm']) >= self.batch_size or final):
      n = min(len(self._buffer['gm']), self.batch_size)
      images = self._buffer['images'][:n]
      if n < self.batch_size:   # pad the last one to the compiled shape.
        images = np.concatenate([images, np.zeros(
            (self.batch_size - n,) + images.shape[1:], images.dtype)])
      out = self.predictor(images)
      self._out['heldout_probabilities'].append(out['probabilities'][:n])
      self._out['heldout_features'].append(out['continuous_features'][:n])
      self._out['heldout_gm_index'].append(self._buffer['gm'][:n])
      self._out['heldout_bucket'].append(self._buffer['bucket'][:n])
      rest = {k: v[n:] for k, v in self._buffer.items()}
      self._buffer = rest if len(rest['gm']) else None

  def wrap(self, batches: Iterable[Mapping]) -> Iterator[dict]:
    for batch in batches:
      batch = dict(batch)
      n = len(batch['image'])
      valid = np.asarray(batch.get('mask', np.ones(n)), np.float32) > 0
      gen = valid & (np.asarray(batch['gm_index']) >= 0)
      if gen.any() and self.sel.holdout_percent:
        bucket = selection_lib.holdout_bucket(batch['image'])
        held = gen & (bucket < self.sel.holdout_percent)
        if held.any():
          self._add(images=np.asarray(batch['image'])[held],
                    gm=np.asarray(batch['gm_index'])[held],
                    bucket=bucket[held])
          batch['mask'] = (valid & ~held).astype(np.float32)
          self._flush()
      yield batch
    self._flush(final=True)

  def outputs(self) -> dict:
    out = {k: (np.concatenate(v) if v else np.zeros((0,), np.float32))
           for k, v in self._out.items()}
    out['heldout_percent'] = np.array(self.sel.holdout_percent)
    return out


def heldout_outputs(seen: Mapping | None, head) -> dict | None:
  """The held-out rows of a training pass's outputs, with regressed values
  from the fitted regression ``head``; None when there are none."""
  if seen is None or 'heldout_gm_index' not in seen or not len(
      seen['heldout_gm_index']):
    return None
  return dict(probabilities=np.asarray(seen['heldout_probabilities']),
              regressed=head.predict(seen['heldout_features']),
              gm_index=np.asarray(seen['heldout_gm_index']),
              bucket=np.asarray(seen['heldout_bucket']))


def cache_matches(seen: Mapping, sel: selection_lib.Selection) -> bool:
  """Whether cached training-pass outputs hold this selection's held-out
  images (same percent; none when the percent is 0)."""
  cached = int(np.asarray(seen.get('heldout_percent', 0)))
  return cached == sel.holdout_percent
