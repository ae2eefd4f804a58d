"""Progress of a long pass over batches, printed as plain lines.

``batches(iterable, label)`` yields the items of ``iterable`` unchanged and
prints ``<label>: 120/400 batches (30%), 3.2 batches/s, ETA 88 s`` at most
every ``every`` seconds and once at the end (``<label>: 400 batches in
125.0 s``). Plain lines, no carriage returns, so a log file stays readable;
only process 0 prints.
"""

from __future__ import annotations

import sys
import time
from typing import Iterable, Iterator, TextIO

import jax


def batches(iterable: Iterable, label: str, every: float = 10.0,
            out: TextIO | None = None) -> Iterator:
  out = out or sys.stdout
  show = jax.process_index() == 0
  total = len(iterable) if hasattr(iterable, '__len__') else None
  start = last = time.perf_counter()
  done = 0
  for item in iterable:
    yield item
    done += 1
    now = time.perf_counter()
    if show and now - last >= every:
      last = now
      rate = done / (now - start)
      text = f'{label}: {done}' + (f'/{total} batches '
                                   f'({100 * done / total:.0f}%)' if total
                                   else ' batches')
      eta = (f', ETA {(total - done) / rate:.0f} s'
             if total and rate > 0 else '')
      print(f'{text}, {rate:.1f} batches/s{eta}', file=out, flush=True)
  if show:
    print(f'{label}: {done} batches in {time.perf_counter() - start:.1f} s',
          file=out, flush=True)
