"""Triton's batch counters from its Prometheus text: rows ÷ executions is the batch size it formed."""

from __future__ import annotations

import pytest

from include.adapters.serving.triton_metrics import BatchStats, parse_batch_stats

METRICS = """\
# HELP nv_inference_request_success Number of successful inference requests, all batch sizes
# TYPE nv_inference_request_success counter
nv_inference_request_success{model="ner",version="1"} 40
nv_inference_request_success{model="ner",version="2"} 24
nv_inference_request_success{model="ner_int8",version="1"} 10
# HELP nv_inference_count Number of inferences performed (does not include cached requests)
# TYPE nv_inference_count counter
nv_inference_count{model="ner",version="1"} 40
nv_inference_count{model="ner",version="2"} 24
nv_inference_count{model="ner_int8",version="1"} 160
# HELP nv_inference_exec_count Number of model executions performed (does not include cached requests)
# TYPE nv_inference_exec_count counter
nv_inference_exec_count{model="ner",version="1"} 10
nv_inference_exec_count{model="ner",version="2"} 6
nv_inference_exec_count{model="ner_int8",version="1"} 10
# HELP nv_cpu_utilization CPU utilization rate [0.0 - 1.0]
# TYPE nv_cpu_utilization gauge
nv_cpu_utilization 0.5
"""


def test_counters_are_summed_per_model_and_give_the_mean_batch():
    stats = parse_batch_stats(METRICS)
    assert stats["ner"] == BatchStats(requests=64, inferences=64, executions=16)
    assert stats["ner"].mean_batch == 4.0 and stats["ner"].rows_per_request == 1.0
    assert stats["ner_int8"].mean_batch == 16.0 and stats["ner_int8"].rows_per_request == 16.0
    assert set(stats) == {"ner", "ner_int8"}


def test_two_readings_measure_the_stretch_between_them():
    before = BatchStats(requests=10, inferences=10, executions=10)
    after = BatchStats(requests=50, inferences=50, executions=20)
    assert (after - before).mean_batch == pytest.approx(4.0)
    assert BatchStats().mean_batch == 0.0
