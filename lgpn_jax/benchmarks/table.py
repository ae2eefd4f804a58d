"""The benchmark result as a text table."""

from __future__ import annotations


def format_table(result: dict) -> str:
  """The benchmark result as an aligned text table."""
  rows = [('parameters', f'{result["parameters"]:,}')]
  if 'flops' in result:
    f = result['flops']
    rows.append(('forward GFLOPs/image (conv+matmul)',
                 f'{f["matmul_gflops"]:.2f} (+{f["resize_gflops"]:.2f} resize);'
                 f' XLA {f["xla_gflops"] or float("nan"):.2f};'
                 f' reference {f["reference_gflops"]}'))
  roof = dict(result.get('roofline', {}))
  normalizations = roof.pop('normalizations', 0)
  for name, r in roof.items():
    rows.append((f'roofline {name}',
                 f'floor {r["floor_us_per_image"]:.0f} us/image '
                 f'({r["floor_img_s"]:.0f} img/s; {r["gflops_per_image"]:.1f} '
                 f'GFLOPs, {r["mbytes_per_image"]:.0f} MB/image moved at '
                 f'least, {r["memory_bound_fraction"]:.0%} of the floor '
                 'memory-bound)'))
    if normalizations:
      rows.append(('  + BatchNorm passes', f'floor '
                   f'{r["floor_with_bn_us_per_image"]:.0f} us/image '
                   f'({r["floor_with_bn_img_s"]:.0f} img/s; '
                   f'+{r["bn_extra_mbytes_per_image"]:.0f} MB/image: '
                   f'{r["bn_passes"]} passes over {normalizations} '
                   'normalized tensors)'))
  if 'latency' in result:
    l = result['latency']
    rows.append(('latency batch 1', f'median {l["median_ms"]:.2f} ms, '
                 f'p90 {l["p90_ms"]:.2f} ms'))
  for kind in ('infer', 'train'):
    for r in result.get(kind, []):
      mem = r.get('peak_memory_gib') or r.get('compiled_memory_gib')
      extra = f', MFU {r["mfu"]:.1%}' if 'mfu' in r else ''
      mem_s = f', {mem:.1f} GiB' if mem is not None else ''
      per_dev = (f', {r["img_s_per_device"]:.1f}/device'
                 if r.get('devices', 1) > 1 else '')
      rows.append((f'{kind} batch {r["batch"]}',
                   f'{r["img_s"]:.1f} img/s ({r["step_ms"]:.1f} ms/step'
                   f'{per_dev}{mem_s}{extra})'))
  if 'checkpoint' in result:
    c = result['checkpoint']
    rows.append(('checkpoint saves', ', '.join(
        f'{t:.2f} s' for t in c['seconds']) + f' ({c["arrays"]} arrays, '
        f'{c["mbytes"]:.0f} MB, {c["devices"]} devices)'))
  if 'profile' in result:
    p = result['profile']
    rows.append((f'profile ({p["source"]})',
                 f'{p["total_ms"]:.1f} ms over {p["steps"]} steps; '
                 + ', '.join(f'{k} {v["share"]:.0%}'
                             for k, v in p['kinds'].items())))
    for op in p['top'][:8]:
      rows.append(('', f'{op["share"]:6.1%} {op["ms"]:8.2f} ms x{op["count"]}'
                   f' {op["name"][:60]}'))
  width = max(len(k) for k, _ in rows)
  head = (f'{result["device"]["device_kind"]} x{result["device"]["num_devices"]}, '
          f'dtype {result["dtype"]}, image {result["image_size"]}'
          + (', BatchNorm folded for inference' if result.get('fold_bn') else ''))
  return '\n'.join([head] + [f'  {k:{width}s}  {v}' for k, v in rows])
