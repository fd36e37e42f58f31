"""No generated secret survives into any output: secrets of every kind (shaped and opaque), carried in
every carrier (text, containers, keys, objects, exceptions), through every logger (structlog, stdlib
with ``%`` arguments and ``extra``, library loggers, the ``observed`` summary and what leaves the
handler). stdout and stderr are captured at the file descriptors; not the secret, nor any fragment of
six or more of its characters, may appear."""

from __future__ import annotations

import json
import logging
import random
import string
import traceback
from dataclasses import dataclass
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from observe import get_logger, observed
from observe import logging as olog
from observe.testing import FakeLambdaContext

B64URL = string.ascii_letters + string.digits + "-_"
TOKEN = B64URL + "._~+/"
# Fields observe writes itself (numbers, ids, times): left out of the fragment search so a digit run
# of a phone number cannot "match" a timestamp by chance.
OWN_FIELDS = ("timestamp", "duration_ms", "max_memory_mb", "correlation_id", "aws_request_id", "_aws",
              "Duration", "MaxMemoryUsed", "MemoryUtilization")  # fmt: skip


@dataclass(frozen=True)
class Secret:
    kind: str
    value: str  # what is carried
    core: tuple[str, ...]  # the parts that must not survive (the token of "Bearer <token>", PEM body lines)
    shaped: bool  # recognisable without a name


def _rand(rng: random.Random, alphabet: str, lo: int, hi: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(lo, hi)))


def make_secret(kind: str, seed: int) -> Secret:
    rng = random.Random(seed)
    digits = string.digits
    if kind == "nric":
        v = rng.choice("STFGMstfgm") + _rand(rng, digits, 7, 7) + rng.choice(string.ascii_letters)
    elif kind == "email":
        local = rng.choice(string.ascii_lowercase) + _rand(
            rng, string.ascii_lowercase + digits + "._+-", 3, 12
        )
        domain = _rand(rng, string.ascii_lowercase, 3, 10)
        v = f"{local.rstrip('.')}@{domain}.{rng.choice(['com', 'sg', 'gov.sg', 'io', 'co.uk'])}"
    elif kind in ("jwt", "jwe"):
        n = 3 if kind == "jwt" else 5
        v = "eyJ" + ".".join(_rand(rng, B64URL, 16, 60) for _ in range(n))
    elif kind == "bearer":
        tok = _rand(rng, TOKEN, 24, 60)
        return Secret(kind, f"{rng.choice(['Bearer', 'bearer', 'DPoP', 'Basic'])} {tok}", (tok,), True)
    elif kind == "pem":
        lines = [_rand(rng, string.ascii_letters + digits + "+/", 64, 64) for _ in range(rng.randint(2, 5))]
        label = rng.choice(["", "RSA ", "EC ", "ENCRYPTED ", "OPENSSH "])
        body = "\n".join(lines)
        return Secret(kind, f"-----BEGIN {label}PRIVATE KEY-----\n{body}\n-----END {label}PRIVATE KEY-----",
                      tuple(lines), True)  # fmt: skip
    elif kind == "der":
        v = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" + _rand(rng, string.ascii_letters + digits + "+/", 40, 120)
    elif kind == "aws_key":
        v = rng.choice(["AKIA", "ASIA"]) + _rand(rng, string.ascii_uppercase + digits, 16, 16)
    elif kind == "sg_phone":
        d = rng.choice("689") + _rand(rng, digits, 7, 7)
        v = rng.choice([d, f"{d[:4]} {d[4:]}", f"+65 {d[:4]} {d[4:]}", f"+65{d}", f"{d[:4]}-{d[4:]}"])
    elif kind == "e164":
        v = "+" + rng.choice("123456789") + _rand(rng, digits, 8, 12)
    elif kind == "api_token":
        v = rng.choice(["ghp_", "gho_", "github_pat_", "sk_live_", "xoxb-"]) + _rand(
            rng, string.ascii_letters + digits, 36, 40
        )
    else:  # opaque: codes, verifiers, refresh tokens, client secrets, passwords, cookies, session tokens
        v = _rand(rng, TOKEN if kind == "opaque" else B64URL, 16, 48)
        return Secret(kind, v, (v,), False)
    return Secret(kind, v, (v,), True)


SHAPED = ["nric", "email", "jwt", "jwe", "bearer", "pem", "der", "aws_key", "sg_phone", "e164", "api_token"]
secrets = st.builds(make_secret, st.sampled_from([*SHAPED, "opaque", "opaque_b64url"]), st.integers(0, 2**32))

NAMES = ["password", "client_secret", "access_token", "refresh_token", "id_token", "code", "code_verifier",
         "api_key", "session_id", "sid", "csrftoken", "passphrase", "secret", "session_token",
         "secret_access_key", "x_amz_security_token", "client_assertion", "pin", "private_key",
         "auth_token"]  # fmt: skip


def styled(name: str, style: int) -> str:
    words = name.split("_")
    return [
        name,
        words[0] + "".join(w.title() for w in words[1:]),
        "".join(w.title() for w in words),
        "-".join(words),
        name.upper(),
    ][style]


@dataclass
class Row:
    label: str
    value: Any


class Pair(NamedTuple):
    label: str
    value: Any


class Failure(Exception):
    """An exception whose text comes from an attribute, not from its args."""

    def __init__(self, name: str, secret: str) -> None:
        super().__init__("failure")
        self.detail = f"{name}={secret}"

    def __str__(self) -> str:
        return f"request failed: {self.detail}"


def text_carriers(s: Secret, name: str) -> list[str]:
    """``s`` inside text: by name for any secret; anywhere for a shaped one."""
    v = s.value
    out = [
        f"https://api.example/cb?page=2&{name}={v}&state=ok",
        f"https://app.example/cb#{name}={v}&token_type=Bearer",
        f"grant_type=authorization_code&{name}={v}&redirect_uri=https%3A%2F%2Fapp",
        json.dumps({name: v, "n": 1}),
        json.dumps(json.dumps({"body": {name: v}})),
        f"{name}: {v}",
        f"{name.title()}: {v}\r\nHost: api.example\r\n",
        f"Cookie: theme=dark; {name}={v}",
        repr([(name, v), ("accept", "json")]),
        repr({name: v}),
        repr([(name.encode(), v.encode())]),
        f"Row({name}={v!r}, n=1)",
        f"next=https%3A%2F%2Fapp%2Fcb%3F{name}%3D{v}%26x%3D1",
    ]
    if "/" not in v and "@" not in v:
        out.append(f"postgres://admin:{v}@db.internal:5432/app")
    if s.shaped:
        out += [f"value {v} seen", repr("\n" + v), repr(["\t" + v]), repr(KeyError("\r" + v)), f"<{v}>"]
    return out


def value_carriers(s: Secret, name: str) -> list[Any]:
    v = s.value
    out: list[Any] = [
        {name: v},
        {"outer": [{"inner": {name: v}}]},
        [(name, v)],
        {"headers": {name: v, "accept": "json"}},
        {"har": [{"name": name, "value": v}]},
        {"Parameter": {"Name": "/app/x", "Type": "SecureString", "Value": v}},
        {"row": {"label": "x", name: v}},
    ]
    if name.isidentifier():
        out.append(type("Obj", (), {})())
        out[-1].__dict__[name] = v
        out.append(dataclass(type("Rec", (), {"__annotations__": {name: str}}))(v))
    if s.shaped:
        out += [v, {"k": v}, {v: 1}, [[{"x": (v,)}]], {v}, v.encode(), {"b": b"\xff\xfe" + v.encode()},
                Row("x", v), Pair("x", v), ValueError(f"bad {v}")]  # fmt: skip
    return out


def exception_carriers(s: Secret, name: str) -> list[BaseException]:
    v = s.value
    excs: list[BaseException] = [ValueError(f"rejected {name}={v}"), Failure(name, v)]
    noted = RuntimeError("upstream failed")
    noted.add_note(f"{name}: {v}")
    excs.append(noted)
    try:
        try:
            raise LookupError(f"{name}={v}")
        except LookupError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as chained:
        excs.append(chained)
    excs.append(ExceptionGroup("several", [TypeError(f"{name}={v}"), ValueError("fine")]))
    if s.shaped:
        excs += [KeyError(v), KeyError("\n" + v), ValueError(v)]
    return excs


def _visible(text: str) -> str:
    """The output with observe's own numeric and id fields left out (see OWN_FIELDS)."""
    kept = []
    for line in text.splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            kept.append(line)
            continue
        if isinstance(doc, dict):
            for k in OWN_FIELDS:
                doc.pop(k, None)
        kept.append(json.dumps(doc, ensure_ascii=False))
    return "\n".join(kept)


def assert_no_fragment(s: Secret, text: str, where: str) -> None:
    visible = _visible(text)
    for core in s.core:
        assert core not in text, f"{s.kind} secret {core!r} leaked in {where}:\n{text}"
        for i in range(len(core) - 5):
            frag = core[i : i + 6]
            assert frag not in visible, (
                f"{s.kind} fragment {frag!r} of {core!r} leaked in {where}:\n{visible}"
            )


@pytest.fixture
def stdout_chain():
    """observe writing to the real stdout (captured at the descriptor by capfd)."""
    olog.configure(level="DEBUG")
    logging.getLogger("botocore").setLevel(logging.DEBUG)
    logging.getLogger("urllib3").setLevel(logging.DEBUG)
    yield
    olog.reset()


LOGGERS = ["structlog_kw", "structlog_msg", "structlog_pos", "stdlib_msg", "stdlib_extra", "stdlib_dict",
           "library", "exception_log", "stdlib_exception", "observed"]  # fmt: skip


def run(logger: str, s: Secret, name: str, pick: random.Random) -> list[str]:
    """Log ``s`` through ``logger`` with carriers picked by ``pick``; return extra texts that left."""
    log = get_logger("tests.leaks")
    texts = text_carriers(s, name)
    values = value_carriers(s, name)
    excs = exception_carriers(s, name)
    left: list[str] = []
    text, value, exc = pick.choice(texts), pick.choice(values), pick.choice(excs)
    if logger == "structlog_kw":
        log.info("fetched", payload=value, detail=text)
    elif logger == "structlog_msg":
        log.warning(text)
    elif logger == "structlog_pos":
        log.info("got %s and %r", value, text)
    elif logger == "stdlib_msg":
        logging.getLogger("app.module").warning("call returned %s (%r)", text, value)
    elif logger == "stdlib_extra":
        logging.getLogger("app.module").info("call", extra={"payload": value, "raw": text})
    elif logger == "stdlib_dict":
        logging.getLogger("app.module").info("user %(user)s with %(detail)s", {"user": "u1", "detail": text})
    elif logger == "library":
        which = pick.choice(["httpx", "urllib3", "botocore.endpoint", "botocore.parsers", "botocore.auth"])
        if which == "httpx":
            logging.getLogger("httpx").info(
                'HTTP Request: %s %s "%s %d %s"', "GET", text, "HTTP/1.1", 200, "OK"
            )
        elif which == "urllib3":
            logging.getLogger("urllib3.connectionpool").debug(
                '%s://%s:%s "%s %s %s" %s %s', "https", "api", 443, "GET", text, "HTTP/1.1", 200, 10
            )
        elif which == "botocore.endpoint":
            logging.getLogger("botocore.endpoint").debug(
                "Making request for %s with params: %s", "OperationModel(name=GetParameter)",
                {"headers": {"X-Amz-Security-Token": s.value, "User-Agent": "Boto3"}, "body": text.encode(),
                 "url": f"https://ssm.example/?{name}={s.value}"},
            )  # fmt: skip
        elif which == "botocore.parsers":
            logging.getLogger("botocore.parsers").debug("Response body:\n%r", text.encode())
        else:
            logging.getLogger("botocore.auth").debug("Signature:\n%s", s.value)
    elif logger in ("exception_log", "stdlib_exception"):
        try:
            raise exc
        except BaseException:
            if logger == "exception_log":
                log.exception("step failed")
            else:
                logging.getLogger("app.module").exception("step failed")
    else:

        @observed(pipeline="leaks")
        def handler(event: Any, context: Any) -> Any:
            log.info("handling", event=event)
            raise exc

        try:
            handler({"body": text}, FakeLambdaContext())
        except BaseException as leaving:
            # what awslambdaric prints and returns: the type name, str() and the frames; a full
            # traceback printer also shows the causes and notes
            left.append(f"{type(leaving).__name__}: {leaving}")
            left.append("".join(traceback.format_exception(leaving)))
    return left


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(secret=secrets, name=st.sampled_from(NAMES), style=st.integers(0, 4), logger=st.sampled_from(LOGGERS),
       seed=st.integers(0, 2**16))  # fmt: skip
def test_no_generated_secret_survives_any_carrier_or_logger(
    capfd, stdout_chain, monkeypatch, secret, name, style, logger, seed
) -> None:
    monkeypatch.setenv("OBSERVE_REDACT_ERRORS", "true")
    capfd.readouterr()
    left = run(logger, secret, styled(name, style), random.Random(seed))
    out, err = capfd.readouterr()
    assert out.strip(), f"nothing was logged by {logger}"
    assert_no_fragment(secret, out, f"stdout ({logger})")
    assert_no_fragment(secret, err, f"stderr ({logger})")
    for text in left:
        assert_no_fragment(secret, text, "the exception leaving the handler")


@pytest.mark.parametrize("kind", [*SHAPED, "opaque"])
def test_every_carrier_of_every_kind_once(capfd, stdout_chain, monkeypatch, kind) -> None:
    """The exhaustive pass behind the random one: each carrier, each logger, one secret per kind."""
    monkeypatch.setenv("OBSERVE_REDACT_ERRORS", "true")
    s = make_secret(kind, 7)
    for logger in LOGGERS:
        capfd.readouterr()
        carriers = len(text_carriers(s, "x")), len(value_carriers(s, "x")), len(exception_carriers(s, "x"))
        for i in range(max(*carriers, len(NAMES))):
            n = styled(NAMES[i % len(NAMES)], i % 5)
            left = run(logger, s, n, _Cycle(i))
            out, err = capfd.readouterr()
            assert_no_fragment(s, out + err, f"{logger} carrier {i} under {n!r}")
            for text in left:
                assert_no_fragment(s, text, f"leaving the handler, carrier {i} under {n!r}")


class _Cycle(random.Random):
    """A 'random' choice that walks the carriers in order, so every one is used."""

    def __init__(self, i: int) -> None:
        super().__init__(i)
        self.i = i

    def choice(self, seq):  # type: ignore[override]
        return seq[self.i % len(seq)]
