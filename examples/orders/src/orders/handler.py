"""orders-shipper: ships the paid orders of an SQS batch, observed with observe-pipelines.

An order without an address or with an unknown carrier is rejected (logged with its reason and
counted in ``OrdersRejected``), not retried: sending it again would not give it an address.
"""

from __future__ import annotations

import json
from typing import Any

from observe import get_logger, metric, observed

log = get_logger(__name__)
CARRIERS = frozenset({"dhl", "ups", "standard"})


def problem(order: dict[str, Any]) -> str | None:
    """Why ``order`` cannot be shipped, or None."""
    if not order.get("address"):
        return "no_address"
    if order.get("carrier", "standard") not in CARRIERS:
        return "unknown_carrier"
    return None


@observed(pipeline="orders", service="orders-shipper")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    shipped = 0
    for record in event.get("Records", []):
        order = json.loads(record["body"])
        reason = problem(order)
        if reason is not None:
            log.warning("order rejected", order_id=order.get("order_id"), reason=reason)
            metric("OrdersRejected", 1, reason=reason)
            continue
        carrier = order.get("carrier", "standard")
        log.info("order shipped", order_id=order["order_id"], carrier=carrier)
        metric("OrdersShipped", 1, carrier=carrier)
        shipped += 1
    return {"batchItemFailures": [], "shipped": shipped}
