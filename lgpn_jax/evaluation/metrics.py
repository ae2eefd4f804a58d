"""Evaluation metrics of model parsing, in plain numpy (no JAX, no TensorFlow).

Node classification (the released evaluation, made exact):
  * each of the 55 nodes is scored on its own: the prediction is
    ``P(node = 1) > 0.5`` (``schema.node_decision``: a tie at 0.5 is 0, as
    the authors' 2-way argmax);
  * per node, F1 is macro-averaged over the two classes {0, 1} and accuracy is
    the fraction of images whose node is right;
  * a group's F1 / accuracy is the plain mean over its nodes (loss nodes 0-9,
    continuous-bin nodes 10-36, discrete nodes 37-54).
  Convention for a class that appears neither in the truth nor in the
  predictions of a node (e.g. a node that is 0 for every test GM and is
  predicted 0 everywhere): ``absent_class='ignore'`` (default) leaves that
  class out of the node's macro mean, exactly as sklearn's
  ``f1_score(average='macro')`` does with its default ``labels`` (the labels
  present in y_true or y_pred), so that node's F1 is the F1 of the one class
  present; ``absent_class='zero'`` counts it as F1 = 0 (sklearn with
  ``labels=[0, 1], zero_division=0``). With 'ignore' no 0/0 ever occurs: a
  class present in truth or prediction has 2TP + FP + FN > 0.

Everything is accumulated as sums (confusion counts, sums of absolute errors
and their counts) with a per-image weight, so padded rows (weight 0) never
count, any batching gives the same result, and partial batches are kept.
Only generated images are scored: callers pass ``weight = mask * is_generated``.

Continuous hyperparameters: L1 = mean absolute error of the normalised value
per hyperparameter over the images where it is reported (mask 1), then the
mean over the hyperparameters that have at least one reported image (FEN-PN's
definition). A hyperparameter with no reported image gets NaN and is left out
of the mean (JSON writes it as null).

Coordinated attacks: see ``attack_metrics`` and ``sample_pairs``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Mapping, Sequence

import numpy as np

from lgpn_jax.red140 import schema
ABSENT_CLASS = ('ignore', 'zero')
GROUPS = ('loss', 'continuous', 'discrete')


# --------------------------------------------------------------------------
# Node classification.


@dataclasses.dataclass
class NodeCounts:
  """Per-node confusion counts [N] (weighted sums), mergeable across batches."""
  tp: np.ndarray
  fp: np.ndarray
  fn: np.ndarray
  tn: np.ndarray

  @classmethod
  def zeros(cls, num_nodes: int = schema.NUM_NODES) -> 'NodeCounts':
    return cls(*(np.zeros(num_nodes, np.float64) for _ in range(4)))

  @classmethod
  def from_predictions(cls, probabilities, labels, weight=None) -> 'NodeCounts':
    """Counts of predictions ``schema.node_decision(probabilities)`` vs {0,1}
    ``labels``.

    probabilities, labels: [B, N]; weight: [B] (default 1), e.g.
    ``mask * is_generated``.
    """
    p = np.asarray(probabilities, np.float64)
    y = np.asarray(labels, np.float64)
    if p.shape != y.shape or p.ndim != 2:
      raise ValueError(f'probabilities {p.shape} and labels {y.shape} must '
                       'both be [B, N]')
    w = np.ones(p.shape[0]) if weight is None else np.asarray(weight, np.float64)
    if w.shape != (p.shape[0],):
      raise ValueError(f'weight must be [{p.shape[0]}], got {w.shape}')
    pred = schema.node_decision(p)
    true = y >= 0.5
    w = w[:, None]
    return cls(tp=np.sum(w * (pred & true), 0), fp=np.sum(w * (pred & ~true), 0),
               fn=np.sum(w * (~pred & true), 0), tn=np.sum(w * (~pred & ~true), 0))

  def __add__(self, other: 'NodeCounts') -> 'NodeCounts':
    return NodeCounts(self.tp + other.tp, self.fp + other.fp,
                      self.fn + other.fn, self.tn + other.tn)

  @property
  def total(self) -> np.ndarray:
    return self.tp + self.fp + self.fn + self.tn

  def accuracy(self) -> np.ndarray:
    """[N] accuracy per node (NaN for a node with no scored image)."""
    with np.errstate(invalid='ignore', divide='ignore'):
      return (self.tp + self.tn) / self.total

  def f1(self, absent_class: str = 'ignore') -> np.ndarray:
    """[N] macro F1 over the classes {0, 1} per node (see the module doc)."""
    if absent_class not in ABSENT_CLASS:
      raise ValueError(f'absent_class must be one of {ABSENT_CLASS}, '
                       f'got {absent_class!r}')
    # Class 1: (tp, fp, fn); class 0 swaps roles: (tn, fn, fp).
    den1 = 2 * self.tp + self.fp + self.fn
    den0 = 2 * self.tn + self.fn + self.fp
    with np.errstate(invalid='ignore', divide='ignore'):
      f1_1 = np.where(den1 > 0, 2 * self.tp / den1, 0.0)
      f1_0 = np.where(den0 > 0, 2 * self.tn / den0, 0.0)
    if absent_class == 'zero':
      out = (f1_0 + f1_1) / 2
    else:
      present = (den0 > 0).astype(float) + (den1 > 0).astype(float)
      with np.errstate(invalid='ignore', divide='ignore'):
        out = (f1_0 * (den0 > 0) + f1_1 * (den1 > 0)) / present
    return np.where(self.total > 0, out, np.nan)


def group_nodes() -> dict[str, np.ndarray]:
  """Node indices of each group: loss, continuous (bins), discrete."""
  return {g: schema.family_nodes(g) for g in GROUPS}


def _mean(values: np.ndarray) -> float:
  values = np.asarray(values, np.float64)
  values = values[np.isfinite(values)]
  return float(values.mean()) if values.size else math.nan


def node_metrics(counts: NodeCounts, absent_class: str = 'ignore') -> dict:
  """Group means and per-node values of F1 and accuracy.

  Returns {'groups': {group: {'f1', 'accuracy'}}, 'f1': [N], 'accuracy': [N]}.
  A group's value is the mean over its nodes (nodes with no scored image,
  NaN, are left out).
  """
  f1 = counts.f1(absent_class)
  acc = counts.accuracy()
  groups = {g: dict(f1=_mean(f1[idx]), accuracy=_mean(acc[idx]))
            for g, idx in group_nodes().items()}
  return dict(groups=groups, f1=f1, accuracy=acc)


# --------------------------------------------------------------------------
# Continuous hyperparameters.


@dataclasses.dataclass
class L1Sums:
  """Per-hyperparameter sums of |prediction - target| and their counts [H]."""
  abs_sum: np.ndarray
  count: np.ndarray

  @classmethod
  def zeros(cls, num: int = len(schema.CONTINUOUS_COLUMNS)) -> 'L1Sums':
    return cls(np.zeros(num, np.float64), np.zeros(num, np.float64))

  @classmethod
  def from_predictions(cls, predicted, target, mask, weight=None) -> 'L1Sums':
    """predicted, target, mask: [B, H] (mask 0 = not reported); weight [B]."""
    pred = np.asarray(predicted, np.float64)
    tgt = np.asarray(target, np.float64)
    m = np.asarray(mask, np.float64)
    if not pred.shape == tgt.shape == m.shape or pred.ndim != 2:
      raise ValueError(f'predicted {pred.shape}, target {tgt.shape} and mask '
                       f'{m.shape} must all be [B, H]')
    if weight is not None:
      m = m * np.asarray(weight, np.float64)[:, None]
    # where(): a not-reported target may be huge or NaN; never let it leak.
    err = np.where(m > 0, np.abs(pred - np.where(m > 0, tgt, 0.0)), 0.0)
    return cls(np.sum(err * m, 0), np.sum(m, 0))

  def __add__(self, other: 'L1Sums') -> 'L1Sums':
    return L1Sums(self.abs_sum + other.abs_sum, self.count + other.count)

  def per_hyperparameter(self) -> np.ndarray:
    with np.errstate(invalid='ignore', divide='ignore'):
      return np.where(self.count > 0, self.abs_sum / self.count, np.nan)

  def mean(self) -> float:
    return _mean(self.per_hyperparameter())


# --------------------------------------------------------------------------
# Coordinated attacks: are two images made by the same GM?


def cosine_similarity(a, b) -> np.ndarray:
  """Row-wise cosine similarity of [P, D] arrays (0 where a row is all zero)."""
  a = np.asarray(a, np.float64)
  b = np.asarray(b, np.float64)
  num = np.sum(a * b, -1)
  den = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
  return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)


def descriptors(probabilities) -> np.ndarray:
  """The coordinated-attack descriptor of each image: ``2 P(node = 1) - 1``.

  The concatenated predicted hyperparameter vector (all 55 nodes: loss,
  continuous bins, discrete), centred so that agreeing on "not used" counts
  as much as agreeing on "used" (cosine of raw probabilities would be
  dominated by the many nodes near 0).
  """
  return 2.0 * np.asarray(probabilities, np.float64) - 1.0


def sample_pairs(groups, num_pairs: int, seed: int = 0
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Deterministic image pairs: half same-group, half different-group.

  ``groups`` [N] is each image's GM. Same pairs: a GM drawn uniformly among
  the GMs with at least 2 images, then 2 distinct images of it drawn
  uniformly. Different pairs: 2 distinct GMs drawn uniformly, one image of
  each. Draws are with replacement across pairs (a pair may repeat).
  ``num_pairs // 2`` same pairs come first, then the rest different.
  Returns (first [P], second [P], same [P] bool); empty when no pair of a
  kind can be made (fewer than 2 GMs, or no GM with 2 images).
  """
  groups = np.asarray(groups)
  rng = np.random.default_rng(seed)
  members = {g: np.flatnonzero(groups == g) for g in np.unique(groups)}
  keys = sorted(members)
  multi = [g for g in keys if len(members[g]) >= 2]
  n_same = num_pairs // 2 if multi else 0
  n_diff = num_pairs - num_pairs // 2 if len(keys) >= 2 else 0
  first, second = [], []
  for g in rng.choice(len(multi), n_same) if n_same else []:
    i, j = rng.choice(members[multi[g]], 2, replace=False)
    first.append(i)
    second.append(j)
  for _ in range(n_diff):
    ga, gb = rng.choice(len(keys), 2, replace=False)
    first.append(rng.choice(members[keys[ga]]))
    second.append(rng.choice(members[keys[gb]]))
  same = np.array([True] * n_same + [False] * n_diff)
  return (np.array(first, np.int64), np.array(second, np.int64), same)


def roc_curve(scores, positive) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """(false-alarm rate, detection rate, thresholds), decision ``score >= t``.

  Thresholds are the distinct scores in decreasing order, preceded by +inf
  (nothing detected, the point (0, 0)); tied scores move together.
  """
  s = np.asarray(scores, np.float64)
  y = np.asarray(positive, bool)
  if s.shape != y.shape or s.ndim != 1:
    raise ValueError('scores and positive must be 1-d of the same length')
  thresholds = np.concatenate([[np.inf], np.unique(s)[::-1]])
  n_pos, n_neg = y.sum(), (~y).sum()
  if n_pos == 0 or n_neg == 0:
    raise ValueError('need both same-GM and different-GM pairs')
  tpr = np.array([np.sum(y & (s >= t)) for t in thresholds]) / n_pos
  fpr = np.array([np.sum(~y & (s >= t)) for t in thresholds]) / n_neg
  return fpr, tpr, thresholds


def auc(scores, positive) -> float:
  """Area under the ROC curve = P(score_pos > score_neg) + P(tie) / 2."""
  fpr, tpr, _ = roc_curve(scores, positive)
  return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def pd_at_far(scores, positive, far: float = 0.05) -> float:
  """Detection rate at false-alarm rate <= ``far``: the largest TPR among the
  ROC's operating points (thresholds at the scores) with FPR <= far; no
  interpolation between points."""
  fpr, tpr, _ = roc_curve(scores, positive)
  return float(np.max(tpr[fpr <= far + 1e-12]))


def accuracy_at(scores, positive, threshold: float) -> float:
  s = np.asarray(scores, np.float64)
  y = np.asarray(positive, bool)
  return float(np.mean((s >= threshold) == y))


def best_threshold(scores, positive) -> tuple[float, float]:
  """(threshold, accuracy) maximising accuracy of ``score >= threshold``.

  Candidates are the midpoints between consecutive distinct scores and the
  two ends (below the smallest / above the largest); the first best in
  increasing order wins.
  """
  s = np.unique(np.asarray(scores, np.float64))
  cands = np.concatenate([[s[0] - 1.0], (s[1:] + s[:-1]) / 2, [s[-1] + 1.0]])
  accs = np.array([accuracy_at(scores, positive, t) for t in cands])
  k = int(np.argmax(accs))
  return float(cands[k]), float(accs[k])


def attack_metrics(sets: Mapping[str, tuple[np.ndarray, np.ndarray]],
                   calibrate_on: str = 'seen', far: float = 0.05) -> dict:
  """Coordinated-attack metrics of several pair sets.

  ``sets`` maps a name ('seen', 'unseen') to (similarity [P], same [P]). The
  decision threshold is the best-accuracy threshold of the ``calibrate_on``
  set (see ``best_threshold``) and is applied unchanged to every set
  ('accuracy'); each set also reports its own best ('oracle_accuracy'), AUC
  and Pd at ``far`` false alarms. If ``calibrate_on`` is missing, each set is
  calibrated on itself.
  """
  threshold = None
  if calibrate_on in sets and len(sets[calibrate_on][0]):
    threshold, _ = best_threshold(*sets[calibrate_on])
  out = {}
  for name, (sim, same) in sets.items():
    sim = np.asarray(sim, np.float64)
    same = np.asarray(same, bool)
    if not (same.any() and (~same).any()):
      out[name] = dict(num_pairs=int(sim.size), error='needs same-GM and '
                       'different-GM pairs')
      continue
    own_t, own_acc = best_threshold(sim, same)
    t = own_t if threshold is None else threshold
    out[name] = dict(num_pairs=int(sim.size), num_same=int(same.sum()),
                     threshold=t, accuracy=accuracy_at(sim, same, t),
                     oracle_threshold=own_t, oracle_accuracy=own_acc,
                     auc=auc(sim, same), pd_at_far=pd_at_far(sim, same, far),
                     far=far)
  return out


# --------------------------------------------------------------------------
# Aggregation over folds.


def mean_std(values: Sequence[float]) -> dict:
  """{'mean', 'std', 'n'} of the finite values (population std, ddof=0)."""
  v = np.asarray([x for x in values if x is not None], np.float64)
  v = v[np.isfinite(v)]
  if not v.size:
    return dict(mean=math.nan, std=math.nan, n=0)
  return dict(mean=float(v.mean()), std=float(v.std()), n=int(v.size))
