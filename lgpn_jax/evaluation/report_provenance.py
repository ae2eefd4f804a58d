"""The provenance block of an evaluation JSON (``lgpn_jax/provenance.py``)
with the evaluated data set's identity: ``block(config, builder)``. Both
evaluators (model parsing, classification) put it in every JSON they write.
"""

from __future__ import annotations

from lgpn_jax import data, provenance


def block(config, builder) -> dict:
  from input_pipeline import builders  # the builder is open: TF is loaded.
  return provenance.block(config, provenance.dataset_info(
      builder, data.build_options(config.data), builders.load_report(builder)))
