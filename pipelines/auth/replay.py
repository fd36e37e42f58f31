"""The replay guard: the only state the chain keeps, and it expires.

A state (and each authorization code) is *claimed* with a conditional put into a small DynamoDB
table; a second claim of the same value fails, so a stolen login cookie or code cannot be played
twice. Values are stored as SHA-256 digests, never in clear, with an ``expires_at`` TTL
attribute. DynamoDB deletes expired items lazily (hours later), so the condition also accepts
an item whose ``expires_at`` has passed.

Table shape (terraform's auth_chain module, or :func:`create_table` locally): partition key
``pk`` (S), TTL attribute ``expires_at`` (N, epoch seconds), on-demand billing.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any, Protocol

from pipelines.auth.errors import AuthFailure, Reason

_REPLAYED = {"state": Reason.STATE_REPLAYED, "code": Reason.CODE_REPLAYED}


class ReplayGuard(Protocol):
    """Claims a one-time value; raises :class:`AuthFailure` if it was claimed before."""

    def claim(self, kind: str, value: str, ttl_s: int) -> None: ...


class NoReplayGuard:
    """Dev default: no table. Single-use codes at the provider still stop a replayed code."""

    def claim(self, kind: str, value: str, ttl_s: int) -> None:
        """Accept everything."""


class DynamoReplayGuard:
    """Conditional puts into ``table`` (boto3 imported on first use, client reused while warm)."""

    def __init__(self, table: str, client: Any = None) -> None:
        self.table = table
        self._client = client

    @property
    def client(self) -> Any:
        """The DynamoDB client (``AWS_ENDPOINT_URL`` honoured by boto3)."""
        if self._client is None:
            import boto3

            self._client = boto3.client("dynamodb")
        return self._client

    def claim(self, kind: str, value: str, ttl_s: int) -> None:
        """Put ``kind#sha256(value)`` unless it exists and has not expired."""
        from botocore.exceptions import BotoCoreError, ClientError

        now = int(time.time())
        digest = hashlib.sha256(value.encode("utf-8")).hexdigest()
        try:
            self.client.put_item(
                TableName=self.table,
                Item={"pk": {"S": f"{kind}#{digest}"}, "expires_at": {"N": str(now + ttl_s)}},
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                ExpressionAttributeValues={":now": {"N": str(now)}},
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ConditionalCheckFailedException":
                raise AuthFailure(
                    _REPLAYED.get(kind, Reason.STATE_REPLAYED), f"{kind} was used before"
                ) from None
            raise AuthFailure(Reason.REPLAY_GUARD_UNAVAILABLE, f"DynamoDB {code}") from None
        except BotoCoreError as exc:
            raise AuthFailure(Reason.REPLAY_GUARD_UNAVAILABLE, type(exc).__name__) from None


def create_table(name: str, client: Any = None) -> None:
    """Create the replay table with its TTL (local runs, tests and the demo; terraform in AWS)."""
    import boto3

    ddb = client or boto3.client("dynamodb")
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    ddb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )
