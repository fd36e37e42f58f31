"""The orders team's tests: their handler, their metrics, with observe's pytest fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from observe import metric, observed
from observe.catalogue import MetricError, UnknownMetricError

from orders.handler import handler

EVENT = json.loads((Path(__file__).parents[1] / "events" / "orders_paid.json").read_text())


def test_ships_good_orders_and_counts_the_rejected(observe_capture, lambda_context) -> None:
    result = handler(EVENT, lambda_context)
    assert result["shipped"] == 2
    assert observe_capture.metric_values("OrdersShipped", carrier="dhl") == [1]
    assert observe_capture.metric_values("OrdersShipped") == [1, 1]  # the total of both carriers
    assert observe_capture.metric_values("OrdersRejected", reason="no_address") == [1]
    (warning,) = [x for x in observe_capture.logs if x["level"] == "warning"]
    assert warning["order_id"] == "o-1003" and warning["service"] == "orders-shipper"
    assert observe_capture.metric_values("Errors") == [0]  # observe's standard metrics came too


def test_the_configuration_in_use_is_ours(observe_config) -> None:
    assert observe_config.namespace == "Orders"
    assert set(observe_config.metrics) == {"OrdersShipped", "OrdersRejected"}


def test_misused_metrics_raise_in_tests(observe_capture, lambda_context) -> None:
    @observed(pipeline="orders", service="orders-shipper")
    def careless(event, context):
        metric("OrdersLost", 1)  # observe-check: ignore  (not declared: tests must catch it)

    with pytest.raises(UnknownMetricError, match="OrdersLost"):
        careless({}, lambda_context)

    @observed(pipeline="orders", service="orders-shipper")
    def wrong_dimension(event, context):
        metric("OrdersShipped", 1, warehouse="w1")  # observe-check: ignore

    with pytest.raises(MetricError, match="warehouse"):
        wrong_dimension({}, lambda_context)
