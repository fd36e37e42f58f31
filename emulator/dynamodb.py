"""A latency-only DynamoDB stand-in that checks what a real DynamoDB checks before it answers.

Every request must carry a valid AWS Signature Version 4 made with the configured credentials
(access key, secret, session token), region and service ``dynamodb``, over the ``Host`` header
as it arrived; a bad or missing signature is answered as DynamoDB does (HTTP 400,
``InvalidSignatureException`` / ``UnrecognizedClientException`` /
``MissingAuthenticationTokenException``). Then the operation runs on in-memory tables:

- ``CreateTable`` / ``DescribeTable`` (a hash key only), ``GetItem``, ``Scan`` (no filters);
- ``PutItem`` with ``ConditionExpression``, ``ExpressionAttributeNames`` and
  ``ExpressionAttributeValues``, evaluated by a small real parser (``AND``/``OR``/``NOT``,
  parentheses, ``= <> < <= > >=``, ``attribute_exists``, ``attribute_not_exists``,
  ``begins_with``; top-level attribute paths). A condition that fails is
  ``ConditionalCheckFailedException``; undefined or unused placeholders and malformed items are
  ``ValidationException``, as DynamoDB answers them.

``delay`` (seconds) is slept before every answer, on an asyncio loop: the stand-in costs no CPU
while it waits, so in a benchmark the round trip is latency and the client's CPU is what is
measured. ``throttle_next(n)`` answers the next ``n`` calls with a throttle error body.

Runs in-process (``with dynamodb_standin(...) as ddb``; ``ddb.url``) or as its own process
(``python -m emulator.dynamodb --delay-ms 5 --table bench``, which prints its URL).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
import re
import threading
import uuid
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, unquote

SERVICE = "dynamodb"
TARGET_PREFIX = "DynamoDB_20120810."
MAX_ITEM_BYTES = 400 * 1024
MAX_SKEW = dt.timedelta(minutes=15)
_ERROR_PREFIX = {
    "InvalidSignatureException": "com.amazon.coral.service#",
    "UnrecognizedClientException": "com.amazon.coral.service#",
    "MissingAuthenticationTokenException": "com.amazon.coral.service#",
    "ThrottlingException": "com.amazon.coral.availability#",
    "UnknownOperationException": "com.amazon.coral.service#",
    "SerializationException": "com.amazon.coral.service#",
}
DYNAMO_PREFIX = "com.amazonaws.dynamodb.v20120810#"


class DynamoError(Exception):
    """An error answer: HTTP ``status`` with DynamoDB's ``__type`` ``code`` and ``message``."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status

    def body(self) -> bytes:
        prefix = _ERROR_PREFIX.get(self.code, DYNAMO_PREFIX)
        return json.dumps({"__type": prefix + self.code, "message": self.message}).encode()


def validation(message: str) -> DynamoError:
    return DynamoError("ValidationException", message)


# --- SigV4 -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    """What a request must be signed with."""

    access_key: str = "testing"
    secret_key: str = "testing"
    session_token: str | None = "testing"
    region: str = "ap-southeast-1"


_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<cred>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),"
    r"\s*Signature=(?P<sig>[0-9a-f]{64})$"
)
_SPACES = re.compile(r"\s+")


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def _canonical_query(query: str) -> str:
    pairs = []
    for part in query.split("&") if query else []:
        k, _, v = part.partition("=")
        pairs.append((quote(unquote(k), safe="-_.~"), quote(unquote(v), safe="-_.~")))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def verify_sigv4(
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes,
    creds: Credentials,
    now: dt.datetime | None = None,
) -> None:
    """Raise ``DynamoError`` unless the request is signed with ``creds`` for ``dynamodb``.

    ``headers`` have lower-case names. The canonical request is rebuilt from what arrived (the
    ``Host`` header included, as AWS does), so a client that signs one host and sends another fails.
    """
    auth = headers.get("authorization")
    if not auth:
        raise DynamoError("MissingAuthenticationTokenException", "Request is missing Authentication Token")
    m = _AUTH.match(auth.strip())
    if not m:
        raise DynamoError("IncompleteSignatureException", f"Authorization header is malformed: {auth[:40]!r}")
    parts = m["cred"].split("/")
    if len(parts) != 5:
        raise DynamoError("IncompleteSignatureException", "Credential must have 5 slash-separated parts")
    key_id, date, region, service, terminator = parts
    if key_id != creds.access_key:
        raise DynamoError(
            "UnrecognizedClientException", "The security token included in the request is invalid."
        )
    token = headers.get("x-amz-security-token")
    if creds.session_token is not None and token != creds.session_token:
        raise DynamoError(
            "UnrecognizedClientException", "The security token included in the request is invalid."
        )
    if (region, service, terminator) != (creds.region, SERVICE, "aws4_request"):
        raise DynamoError(
            "InvalidSignatureException",
            f"Credential should be scoped to a valid region and service: {region}/{service}/{terminator}",
        )
    amz_date = headers.get("x-amz-date", "")
    try:
        when = dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        raise DynamoError("IncompleteSignatureException", "X-Amz-Date is missing or malformed") from None
    now = now or dt.datetime.now(dt.UTC)
    if abs(now - when) > MAX_SKEW or date != amz_date[:8]:
        raise DynamoError("InvalidSignatureException", "Signature expired or scoped to another date")
    signed = m["signed"].split(";")
    if "host" not in signed or signed != sorted(signed):
        raise DynamoError("InvalidSignatureException", "SignedHeaders must be sorted and include host")
    lines = []
    for name in signed:
        if name not in headers:
            raise DynamoError("InvalidSignatureException", f"signed header {name!r} is not in the request")
        lines.append(f"{name}:{_SPACES.sub(' ', headers[name].strip())}\n")
    path, _, query = target.partition("?")
    payload_hash = hashlib.sha256(body).hexdigest()
    claimed = headers.get("x-amz-content-sha256")
    if claimed is not None and claimed != payload_hash:
        raise DynamoError("InvalidSignatureException", "x-amz-content-sha256 does not match the body")
    canonical = "\n".join(
        [
            method,
            quote(unquote(path) or "/", safe="/-_.~"),
            _canonical_query(query),
            "".join(lines),
            ";".join(signed),
            payload_hash,
        ]
    )
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = _hmac(
        _hmac(_hmac(_hmac(f"AWS4{creds.secret_key}".encode(), date), region), service), "aws4_request"
    )
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, m["sig"]):
        raise DynamoError(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided.",
        )


# --- condition expressions ---------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(<>|<=|>=|=|<|>|\(|\)|,)|([#:]?[A-Za-z_][A-Za-z0-9_]*)|(\S))")
_COMPARATORS = ("=", "<>", "<", "<=", ">", ">=")
_FUNCTIONS = {"attribute_exists": 1, "attribute_not_exists": 1, "begins_with": 2}


@dataclass
class Condition:
    """A parsed condition expression; :meth:`evaluate` it against an item (or None: absent)."""

    tree: Any
    names_used: set[str] = field(default_factory=set)
    values_used: set[str] = field(default_factory=set)

    def evaluate(
        self, item: Mapping[str, Any] | None, names: Mapping[str, str], values: Mapping[str, Any]
    ) -> bool:
        return bool(_eval(self.tree, item or {}, names, values))


def parse_condition(text: str) -> Condition:
    """Parse ``text`` into a :class:`Condition`; ``ValidationException`` naming the problem."""
    tokens: list[str] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            break
        if m.group(3):
            raise validation(f"Invalid ConditionExpression: Syntax error; token: {m.group(3)!r}")
        tokens.append(m.group(1) or m.group(2))
        pos = m.end()
    if not tokens:
        raise validation("Invalid ConditionExpression: The expression can not be empty;")
    cond = Condition(None)
    parser = _Parser(tokens, cond)
    cond.tree = parser.expr()
    if parser.i != len(tokens):
        raise validation(f"Invalid ConditionExpression: Syntax error; token: {tokens[parser.i]!r}")
    return cond


class _Parser:
    def __init__(self, tokens: list[str], cond: Condition):
        self.t, self.i, self.cond = tokens, 0, cond

    def peek(self) -> str | None:
        return self.t[self.i] if self.i < len(self.t) else None

    def take(self, expected: str | None = None) -> str:
        tok = self.peek()
        if tok is None or (expected is not None and tok.upper() != expected):
            raise validation(f"Invalid ConditionExpression: Syntax error; expected {expected or 'a token'}")
        self.i += 1
        return tok

    def expr(self) -> Any:
        node = self.conj()
        while (self.peek() or "").upper() == "OR":
            self.take()
            node = ("or", node, self.conj())
        return node

    def conj(self) -> Any:
        node = self.neg()
        while (self.peek() or "").upper() == "AND":
            self.take()
            node = ("and", node, self.neg())
        return node

    def neg(self) -> Any:
        if (self.peek() or "").upper() == "NOT":
            self.take()
            return ("not", self.neg())
        return self.primary()

    def primary(self) -> Any:
        if self.peek() == "(":
            self.take()
            node = self.expr()
            self.take(")")
            return node
        tok = self.peek() or ""
        if re.match(r"^[A-Za-z_]", tok) and self.t[self.i + 1 : self.i + 2] == ["("]:
            name = self.take()
            if name not in _FUNCTIONS:
                raise validation(f"Invalid ConditionExpression: Invalid function name; function: {name}")
            self.take("(")
            args = [self.operand()]
            while self.peek() == ",":
                self.take()
                args.append(self.operand())
            self.take(")")
            if len(args) != _FUNCTIONS[name]:
                raise validation(f"Invalid ConditionExpression: Incorrect number of operands for {name}")
            if args[0][0] != "path":
                raise validation(f"Invalid ConditionExpression: {name} needs an attribute path first")
            return ("fn", name, args)
        left = self.operand()
        op = self.peek()
        if op not in _COMPARATORS:
            raise validation(f"Invalid ConditionExpression: Syntax error; expected a comparator, got {op!r}")
        self.take()
        return ("cmp", op, left, self.operand())

    def operand(self) -> Any:
        tok = self.take()
        if tok.startswith(":"):
            self.cond.values_used.add(tok)
            return ("value", tok)
        if tok.startswith("#"):
            self.cond.names_used.add(tok)
            return ("path", tok)
        if not re.match(r"^[A-Za-z_]", tok) or tok.upper() in ("AND", "OR", "NOT"):
            raise validation(f"Invalid ConditionExpression: Syntax error; token: {tok!r}")
        return ("path", tok)


def _resolve(node: Any, item: Mapping[str, Any], names: Mapping[str, str], values: Mapping[str, Any]) -> Any:
    kind, ref = node
    if kind == "value":
        return values[ref]
    return item.get(names[ref] if ref.startswith("#") else ref)


def _ordered(value: Mapping[str, Any]) -> tuple[str, Any] | None:
    """(type, comparable) of a scalar attribute value; None for types without an order."""
    (kind, raw), *_ = value.items()
    if kind == "N":
        return kind, Decimal(raw)
    if kind == "S":
        return kind, raw
    if kind == "B":
        return kind, base64.b64decode(raw)
    return None


def _compare(op: str, a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    if a is None or b is None:
        return False  # a comparison with an absent attribute is false
    if op in ("=", "<>"):
        oa, ob = _ordered(a), _ordered(b)
        same = oa == ob if oa is not None and ob is not None else a == b
        return same if op == "=" else not same
    oa, ob = _ordered(a), _ordered(b)
    if oa is None or ob is None or oa[0] != ob[0]:
        return False  # different types never compare
    return {"<": oa[1] < ob[1], "<=": oa[1] <= ob[1], ">": oa[1] > ob[1], ">=": oa[1] >= ob[1]}[op]


def _eval(node: Any, item: Mapping[str, Any], names: Mapping[str, str], values: Mapping[str, Any]) -> bool:
    kind = node[0]
    if kind == "or":
        return _eval(node[1], item, names, values) or _eval(node[2], item, names, values)
    if kind == "and":
        return _eval(node[1], item, names, values) and _eval(node[2], item, names, values)
    if kind == "not":
        return not _eval(node[1], item, names, values)
    if kind == "cmp":
        return _compare(
            node[1], _resolve(node[2], item, names, values), _resolve(node[3], item, names, values)
        )
    name, args = node[1], node[2]
    found = _resolve(args[0], item, names, values)
    if name == "attribute_exists":
        return found is not None
    if name == "attribute_not_exists":
        return found is None
    prefix = _resolve(args[1], item, names, values)
    return bool(found and prefix and "S" in found and "S" in prefix and found["S"].startswith(prefix["S"]))


def check_placeholders(cond: Condition, names: Mapping[str, str], values: Mapping[str, Any]) -> None:
    """DynamoDB's rules: every placeholder used is defined, every one defined is used."""
    for ref in sorted(cond.names_used - set(names)):
        raise validation(
            "Invalid ConditionExpression: An expression attribute name used in the document path is "
            f"not defined; attribute name: {ref}"
        )
    for ref in sorted(cond.values_used - set(values)):
        raise validation(
            f"Invalid ConditionExpression: An expression attribute value used in expression is not defined; "
            f"attribute value: {ref}"
        )
    if set(names) - cond.names_used:
        raise validation(
            "Value provided in ExpressionAttributeNames unused in expressions: "
            f"keys: {{{', '.join(sorted(set(names) - cond.names_used))}}}"
        )
    if set(values) - cond.values_used:
        raise validation(
            "Value provided in ExpressionAttributeValues unused in expressions: "
            f"keys: {{{', '.join(sorted(set(values) - cond.values_used))}}}"
        )


# --- tables ------------------------------------------------------------------------------------

_TYPES = {"S", "N", "B", "BOOL", "NULL", "L", "M", "SS", "NS", "BS"}


def check_value(value: Any, where: str) -> None:
    """``ValidationException`` unless ``value`` is a well-formed attribute value."""
    if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in _TYPES:
        raise validation(f"Supplied AttributeValue is empty or has more than one datatype at {where}")
    (kind, raw), *_ = value.items()
    if kind == "N":
        try:
            number = Decimal(raw)
        except (InvalidOperation, TypeError):
            raise validation(f"The parameter cannot be converted to a numeric value: {raw!r}") from None
        if not number.is_finite() or len(number.as_tuple().digits) > 38:
            raise validation(f"Attempting to store more than 38 significant digits in a Number ({where})")
    elif kind == "L":
        for i, v in enumerate(raw):
            check_value(v, f"{where}[{i}]")
    elif kind == "M":
        for k, v in raw.items():
            check_value(v, f"{where}.{k}")


@dataclass
class Table:
    name: str
    hash_key: str
    hash_type: str
    items: dict[Any, dict[str, Any]] = field(default_factory=dict)

    def key_of(self, item: Mapping[str, Any], what: str) -> Any:
        value = item.get(self.hash_key)
        if value is None:
            raise validation(
                f"One or more parameter values were invalid: Missing the key {self.hash_key} in the {what}"
            )
        if next(iter(value)) != self.hash_type:
            raise validation(
                f"One or more parameter values were invalid: Type mismatch for key {self.hash_key} "
                f"expected: {self.hash_type} actual: {next(iter(value))}"
            )
        raw = value[self.hash_type]
        if raw == "":
            raise validation(
                "One or more parameter values are not valid. The AttributeValue for a key attribute "
                f"cannot contain an empty string value. Key: {self.hash_key}"
            )
        return Decimal(raw) if self.hash_type == "N" else raw

    def describe(self) -> dict[str, Any]:
        return {
            "TableName": self.name,
            "TableStatus": "ACTIVE",
            "KeySchema": [{"AttributeName": self.hash_key, "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": self.hash_key, "AttributeType": self.hash_type}],
            "ItemCount": len(self.items),
            "BillingModeSummary": {"BillingMode": "PAY_PER_REQUEST"},
            "TableArn": f"arn:aws:dynamodb:local:000000000000:table/{self.name}",
        }


class DynamoStandin:
    """The tables, the checks and the HTTP server; see the module docstring."""

    def __init__(
        self,
        *,
        delay: float = 0.0,
        credentials: Credentials | None = None,
        tables: tuple[str, ...] = (),
    ):
        self.delay = delay
        self.credentials = credentials or Credentials()
        self.tables: dict[str, Table] = {t: Table(t, "pk", "S") for t in tables}
        self.calls: dict[str, int] = {}
        self.errors: dict[str, int] = {}  # answered error codes, counted
        self.throttled = 0
        self.connections = 0  # TCP connections accepted: a client that keeps its session reuses them
        self._throttle_budget = 0
        self._throttle_code = "ProvisionedThroughputExceededException"
        self._throttle_ops: set[str] | None = None
        self._lock = threading.Lock()
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None

    # --- scripting -----------------------------------------------------------------------------
    def throttle_next(
        self,
        n: int,
        *,
        code: str = "ProvisionedThroughputExceededException",
        operations: set[str] | None = None,
    ) -> None:
        """Answer the next ``n`` calls (of ``operations``) with a throttle (HTTP 400, ``code``)."""
        if code not in (
            "ProvisionedThroughputExceededException",
            "ThrottlingException",
            "RequestLimitExceeded",
        ):
            raise ValueError(f"unknown throttle code {code!r}")
        with self._lock:
            self._throttle_budget, self._throttle_code, self._throttle_ops = n, code, operations

    def _take_throttle(self, operation: str) -> str | None:
        with self._lock:
            if self._throttle_budget <= 0 or (
                self._throttle_ops is not None and operation not in self._throttle_ops
            ):
                return None
            self._throttle_budget -= 1
            self.throttled += 1
            return self._throttle_code

    # --- operations ----------------------------------------------------------------------------
    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> tuple[int, bytes]:
        """One request (lower-case header names) -> (status, JSON body)."""
        try:
            if method != "POST":
                raise DynamoError("UnknownOperationException", f"{method} is not supported", 400)
            verify_sigv4(method, target, headers, body, self.credentials)
            amz_target = headers.get("x-amz-target", "")
            if not amz_target.startswith(TARGET_PREFIX):
                raise DynamoError("UnknownOperationException", f"unknown target {amz_target!r}")
            operation = amz_target[len(TARGET_PREFIX) :]
            with self._lock:
                self.calls[operation] = self.calls.get(operation, 0) + 1
            throttle = self._take_throttle(operation)
            if throttle is not None:
                raise DynamoError(throttle, "Rate of requests exceeds the allowed throughput.")
            try:
                payload = json.loads(body)
            except ValueError:
                raise DynamoError(
                    "SerializationException", "Start of structure or map found where not expected"
                ) from None
            op = getattr(self, f"op_{operation}", None)
            if op is None or not isinstance(payload, dict):
                raise DynamoError(
                    "UnknownOperationException", f"{operation} is not supported by this stand-in"
                )
            with self._lock:
                result = op(payload)
            return 200, json.dumps(result).encode()
        except DynamoError as exc:
            with self._lock:
                self.errors[exc.code] = self.errors.get(exc.code, 0) + 1
            return exc.status, exc.body()

    def _table(self, payload: Mapping[str, Any]) -> Table:
        name = payload.get("TableName")
        table = self.tables.get(name) if isinstance(name, str) else None
        if table is None:
            raise DynamoError("ResourceNotFoundException", "Requested resource not found")
        return table

    def op_CreateTable(self, payload: dict[str, Any]) -> dict[str, Any]:
        name = payload.get("TableName")
        if not isinstance(name, str) or not re.match(r"^[A-Za-z0-9_.-]{3,255}$", name):
            raise validation(f"TableName {name!r} is not valid")
        if name in self.tables:
            raise DynamoError("ResourceInUseException", f"Table already exists: {name}")
        schema = payload.get("KeySchema") or []
        if len(schema) != 1 or schema[0].get("KeyType") != "HASH":
            raise validation("this stand-in supports a single HASH key")
        key = schema[0]["AttributeName"]
        types = {d["AttributeName"]: d["AttributeType"] for d in payload.get("AttributeDefinitions") or []}
        if types.get(key) not in ("S", "N", "B"):
            raise validation(f"AttributeDefinitions must define {key} as S, N or B")
        self.tables[name] = Table(name, key, types[key])
        return {"TableDescription": self.tables[name].describe()}

    def op_DescribeTable(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {"Table": self._table(payload).describe()}

    def op_GetItem(self, payload: dict[str, Any]) -> dict[str, Any]:
        table = self._table(payload)
        key = payload.get("Key") or {}
        if set(key) != {table.hash_key}:
            raise validation("The provided key element does not match the schema")
        item = table.items.get(table.key_of(key, "key"))
        return {"Item": item} if item is not None else {}

    def op_Scan(self, payload: dict[str, Any]) -> dict[str, Any]:
        table = self._table(payload)
        items = list(table.items.values())
        return {"Items": items, "Count": len(items), "ScannedCount": len(items)}

    def op_PutItem(self, payload: dict[str, Any]) -> dict[str, Any]:
        table = self._table(payload)
        item = payload.get("Item")
        if not isinstance(item, dict) or not item:
            raise validation("One or more parameter values were invalid: Item is empty")
        for name, value in item.items():
            check_value(value, name)
        if len(json.dumps(item)) > MAX_ITEM_BYTES:
            raise validation("Item size has exceeded the maximum allowed size")
        key = table.key_of(item, "item")
        names = payload.get("ExpressionAttributeNames") or {}
        values = payload.get("ExpressionAttributeValues") or {}
        for name, value in values.items():
            check_value(value, name)
        expression = payload.get("ConditionExpression")
        old = table.items.get(key)
        if expression is not None:
            cond = parse_condition(expression)
            check_placeholders(cond, names, values)
            if not cond.evaluate(old, names, values):
                raise DynamoError("ConditionalCheckFailedException", "The conditional request failed")
        elif names or values:
            raise validation("ExpressionAttributeNames/Values can only be specified when using expressions")
        table.items[key] = item
        if payload.get("ReturnValues", "NONE") == "ALL_OLD" and old is not None:
            return {"Attributes": old}
        return {}

    # --- HTTP ----------------------------------------------------------------------------------
    async def _serve_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target, _version = [*lines[0].split(" "), "", ""][:3]
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, _, v = line.partition(":")
                        headers[k.strip().lower()] = v.strip()
                length = int(headers.get("content-length") or 0)
                body = await reader.readexactly(length) if length else b""
                if self.delay:
                    await asyncio.sleep(self.delay)
                status, data = self.handle(method, target, headers, body)
                reason = "OK" if status == 200 else "Bad Request"
                writer.write(
                    (
                        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/x-amz-json-1.0\r\n"
                        f"Content-Length: {len(data)}\r\nx-amzn-RequestId: {uuid.uuid4().hex}\r\n"
                        f"x-amz-crc32: {zlib.crc32(data)}\r\n\r\n"
                    ).encode()
                    + data
                )
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        except asyncio.CancelledError:
            return  # the stand-in is stopping: a kept-alive connection ends here
        finally:
            writer.close()

    async def _start(self, port: int) -> str:
        self._server = await asyncio.start_server(self._serve_client, "127.0.0.1", port, backlog=256)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self.url

    def start(self, port: int = 0) -> str:
        """Serve on 127.0.0.1:``port`` (0: a free one) on a loop in a daemon thread; the URL."""
        started = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._start(port))
            started.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="dynamodb-standin", daemon=True)
        self._thread.start()
        started.wait(10)
        return self.url

    def stop(self) -> None:
        loop, server = self._loop, self._server
        if loop is None or server is None:
            return

        async def shutdown() -> None:
            server.close()
            clients = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in clients:  # keep-alive connections still open
                task.cancel()
            await asyncio.gather(*clients, return_exceptions=True)
            await server.wait_closed()

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        loop.close()
        self._loop = self._server = None


@contextmanager
def dynamodb_standin(
    *, delay: float = 0.0, credentials: Credentials | None = None, tables: tuple[str, ...] = ()
) -> Iterator[DynamoStandin]:
    """Start a :class:`DynamoStandin` (tables with a string ``pk`` hash key); yields it."""
    standin = DynamoStandin(delay=delay, credentials=credentials, tables=tables)
    standin.start()
    try:
        yield standin
    finally:
        standin.stop()


def main(argv: list[str] | None = None) -> None:
    """Run the stand-in as its own process until killed; prints its URL."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--delay-ms", type=float, default=0.0)
    ap.add_argument("--table", action="append", default=[], help="a table with a string 'pk' hash key")
    ap.add_argument("--access-key", default="testing")
    ap.add_argument("--secret-key", default="testing")
    ap.add_argument("--session-token", default="testing")
    ap.add_argument("--region", default="ap-southeast-1")
    args = ap.parse_args(argv)
    creds = Credentials(args.access_key, args.secret_key, args.session_token or None, args.region)
    standin = DynamoStandin(delay=args.delay_ms / 1000, credentials=creds, tables=tuple(args.table))

    async def serve() -> None:
        print(await standin._start(args.port), flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
