"""Sensitivity to the correlation-graph threshold tau (paper's table).

  python train.py --config=configs/tau.py:0.35 --workdir=runs/tau_035 \
      --config.data.manual_dir=/path/to/RED140 --config.fold=1
The argument after ':' is tau (default 0.45, the paper's LGPN). Paper (RED140,
loss F1/Acc, discrete F1/Acc, continuous L1): 0.35 -> 84.0/83.0, 79.2/77.0,
0.122; 0.45 -> 84.6/83.3, 79.5/77.5, 0.120; 0.55 -> 84.5/82.8, 78.9/77.0,
0.124; 0.65 -> 82.7/82.5, 77.0/74.5, 0.139.
"""

from configs import default


def get_config(tau: str = '0.45'):
  config = default.get_config()
  value = float(tau)
  if not 0.0 < value <= 1.0:
    raise ValueError(f'tau must be in (0, 1], got {tau!r}')
  config.graph.tau = value
  return config
