"""metrics.jsonl rows and TensorBoard events: grouped tags (train/, perf/,
eval/), the config as text, an evaluation's numbers at its step. The event
files are read back with their protocol buffer (TFRecord framing)."""

import glob
import json
import os
import struct

import pytest
from tensorboardX.proto import event_pb2

from configs import tiny
from lgpn_jax import rundir
from lgpn_jax.train import metric_writer


def read_events(fold_dir):
  """{tag: [(step, value or text)]} of every event file of a fold."""
  out = {}
  for path in sorted(glob.glob(os.path.join(rundir.tensorboard_dir(fold_dir),
                                            'events.*'))):
    data = open(path, 'rb').read()
    i = 0
    while i < len(data):
      (length,) = struct.unpack('<Q', data[i:i + 8])
      event = event_pb2.Event.FromString(data[i + 12:i + 12 + length])
      i += 12 + length + 4
      for v in event.summary.value:
        value = (v.tensor.string_val[0].decode() if v.tensor.string_val
                 else v.simple_value)
        out.setdefault(v.tag, []).append((event.step, value))
  return out


def test_scalars_are_grouped_and_the_jsonl_keeps_plain_keys(tmp_path):
  w = metric_writer.MetricWriter(str(tmp_path))
  w.write(0, dict(num_params=10, devices=2, flops_source='text'))
  w.write(5, dict(loss=1.5, loss_node=1.0, learning_rate=1e-3,
                  images_per_second=80.0, node_accuracy=0.5))
  w.close()
  events = read_events(str(tmp_path))
  assert events['train/loss'] == [(5, 1.5)]
  assert events['train/loss_node'] == [(5, 1.0)]
  assert events['perf/images_per_second'] == [(5, 80.0)]
  assert events['perf/num_params'] == [(0, 10.0)]
  assert not any(t.startswith('flops') or '/' not in t for t in events)
  rows = metric_writer.read_metrics(str(tmp_path))
  assert rows[1] == dict(step=5, loss=1.5, loss_node=1.0, learning_rate=1e-3,
                         images_per_second=80.0, node_accuracy=0.5)


def test_config_text_and_evaluation_scalars(tmp_path, fake_report):
  config = tiny.get_config()
  metric_writer.log_config(str(tmp_path), config)
  report = fake_report(0.8, 0.1)
  report['checkpoint_step'] = 700
  metric_writer.log_evaluation(str(tmp_path), report)
  events = read_events(str(tmp_path))
  text = events['config/json/text_summary'][0][1]
  assert json.loads(text.strip('`\n')) == json.loads(config.to_json())
  table = events['config/hyperparameters/text_summary'][0][1]
  assert '| model.node_dim | 16 |' in table
  assert '| train.learning_rate | 0.03 |' in table
  assert events['eval/loss_f1'] == [(700, pytest.approx(0.8))]
  assert events['eval/continuous_l1'] == [(700, pytest.approx(0.1))]
  assert events['eval/majority/loss_f1'] == [(700, pytest.approx(0.8))]
  assert events['eval/attack_unseen/auc'] == [(700, pytest.approx(0.9))]


def test_classification_reports_log_their_top_level_numbers():
  scalars = metric_writer.evaluation_scalars(dict(
      task='detection', fold=1, step=3, mean_ap=0.75, num_images=10,
      per_gm={'A': dict(ap=0.5)}, flag=True))
  assert scalars == dict(mean_ap=0.75, num_images=10)
