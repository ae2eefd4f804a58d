"""The layout of an experiment workdir: every path is made here.

  <workdir>/
    <variant>/fold<k>/       one trained fold (lgpn_jax/rundir.py layout)
    <variant>/fold<k>.done.json   written once the fold's training and
                             standard evaluation finished: the checkpoint
                             step every evaluation of the fold must score
    tables/<experiment>.md   the result table (and .csv, .tex, .json)

Experiments run in the same workdir share the folders of their common
variants (``lgpn`` in most), so each is trained once.
"""

from __future__ import annotations

import os

TABLES = 'tables'


def variant_dir(workdir: str, variant: str) -> str:
  return os.path.join(os.fspath(workdir), variant)


def done_path(workdir: str, variant: str, fold: int) -> str:
  """The marker of a finished fold (see the module doc)."""
  return os.path.join(variant_dir(workdir, variant), f'fold{fold}.done.json')


def table_stem(workdir: str, experiment: str) -> str:
  """The table's path without its extension (.md, .csv, .tex, .json)."""
  return os.path.join(os.fspath(workdir), TABLES, experiment)
