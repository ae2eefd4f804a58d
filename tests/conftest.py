"""Every test sees 8 simulated CPU devices (set before JAX starts a backend).

XLA compiles the tests' programs with LLVM optimisation level 1 instead of 2:
compiling is most of the suite's time and level 1 compiles ~25% faster, while
the tiny programs run as fast. The level changes code generation only, not
the HLO or its floating-point semantics (fast-math stays off). Subprocesses
the tests start inherit it. An optimisation level already in XLA_FLAGS wins.
"""

import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
if '--xla_backend_optimization_level' not in os.environ.get('XLA_FLAGS', ''):
  os.environ['XLA_FLAGS'] = (os.environ.get('XLA_FLAGS', '') +
                             ' --xla_backend_optimization_level=1').strip()

import jax  # noqa: E402

jax.config.update('jax_num_cpu_devices', 8)
jax.config.update('jax_platforms', 'cpu')
