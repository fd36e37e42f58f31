"""Run a handler the way Lambda runs it: ``awslambdaric`` in its own process, against a local Runtime API.

:class:`LambdaFunction` is one function with one execution environment at a time::

    with LambdaFunction(FunctionConfig("ingest-worker", "pipelines.ingest.worker.handler",
                                       timeout=120, memory_mb=1024, env={...})) as fn:
        result = fn.invoke({"Records": [...]})
        result.status, result.payload, result.report.max_memory_mb, result.lines

What it does as Lambda does:

- **Init once, then invocations.** The first invocation starts ``python -m awslambdaric
  <module.handler>`` with ``AWS_LAMBDA_RUNTIME_API`` pointing at :mod:`emulator.runtime_api`; init
  ends at the runtime's first ``/invocation/next`` (``Init Duration``), is limited to 10 s, and a
  failed init (``/init/error``: ``Runtime.ImportModuleError``, the module's own exception) is
  tried once more inside the invocation (``Phase: invoke``), which then fails with that error.
- **The timeout.** At the deadline the process is killed (SIGKILL, its whole process group):
  ``Task timed out after N.NN seconds``, ``Status: timeout``. The invocation after a timeout or a
  crash runs a *suppressed init* in a fresh process: no ``INIT_START``, no ``Init Duration``, the
  init counted in its ``Duration``.
- **The memory size**, by a cgroup v2 ``memory.max`` where the machine allows, else a resident-set
  watchdog (:mod:`emulator.memory_limit` says how faithful each is); going over it kills the
  process: ``Error: Runtime exited with error: signal: killed``, ``Error Type: Runtime.OutOfMemory``.
- **A runtime that exits** (``sys.exit`` in a handler, a segfault): ``Runtime.ExitError`` with
  ``exit status N`` / ``signal: <name>``.
- **The environment the function sees**: only Lambda's variables (``AWS_LAMBDA_FUNCTION_NAME``,
  ``..._VERSION``, ``..._MEMORY_SIZE``, ``AWS_LAMBDA_LOG_GROUP_NAME``, ``..._LOG_STREAM_NAME``,
  ``AWS_REGION``, ``LAMBDA_TASK_ROOT``, ``_HANDLER``, ``AWS_LAMBDA_LOG_FORMAT`` /
  ``AWS_LAMBDA_LOG_LEVEL`` in JSON format, credentials, ...) and the configured ones; nothing of the
  caller's environment leaks in except ``AWS_ENDPOINT_URL*`` (the local stand-in for AWS's
  network) and the caller's AWS credentials.
- **The log**: stdout and stderr line by line, the runtime's own records through the telemetry
  pipe (``_LAMBDA_TELEMETRY_LOG_FD``: one event per record, multi-line tracebacks kept whole),
  and the platform lines of :mod:`emulator.platform_log` in the configured format, in order; kept
  per function (:attr:`LambdaFunction.events`), per invocation (:attr:`InvokeResult.logs`), and
  optionally shipped to CloudWatch Logs ``/aws/lambda/<name>``, one stream per environment.

What it cannot reproduce (and docs/operations.md repeats): the freeze between invocations (the
process keeps running: background threads go on, timers fire), the Firecracker VM and its cgroup
accounting (see :mod:`emulator.memory_limit`), CPU share proportional to memory, billing
granularity beyond Billed Duration's rounding, concurrency and scaling (one environment per
:class:`LambdaFunction`, one invocation at a time), environments recycled after hours, the
Extensions and Telemetry APIs, SnapStart and provisioned concurrency, layers and the read-only
file system (the handler runs from the repository), ``/tmp`` limits, the 256 KB event size limit
of CloudWatch and the system/application log-level filtering Lambda applies in JSON format.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from emulator.cloudwatch_logs import CloudWatchLogs
from emulator.memory_limit import MemoryLimit, RssWatchdog, memory_limit
from emulator.moto_server import FAKE_ENV
from emulator.platform_log import JSON, LOG_FORMATS, PlatformLog, Report
from emulator.runtime_api import MAX_RESPONSE_BYTES, Invocation, RuntimeAPI

REPO_ROOT = Path(__file__).resolve().parents[1]
#: Variables Lambda sets itself and refuses in a function's configuration.
RESERVED = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)
INIT_TIMEOUT_S = 10.0  # Lambda's limit on an on-demand init phase
#: Starts the runtime as the child of a small process and reports its pid and exit status on a
#: pipe. Linux carries a process's peak RSS (``ru_maxrss``) across fork and exec, so a runtime
#: forked straight from this (large) process would report this process's size as its own peak
#: (observe's ``MaxMemoryUsed``); forked from a 10 MB launcher, it starts from the launcher's.
_LAUNCHER = """
import os, sys
report = int(sys.argv[1])
pid = os.fork()
if pid == 0:
    os.close(report)
    try:
        os.execv(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
os.write(report, b"%d\\n" % pid)
while True:
    try:
        status = os.waitpid(pid, 0)[1]
        break
    except InterruptedError:
        pass
os.write(report, b"%d\\n" % os.waitstatus_to_exitcode(status))
"""
_FRAME_HEADER = 16  # telemetry frame: type (4), length (4), timestamp in microseconds (8)


@dataclass(frozen=True)
class FunctionConfig:
    """A function's configuration, as ``aws_lambda_function`` would set it."""

    name: str
    handler: str  # "package.module.function"
    timeout: float = 3.0  # seconds (Lambda's default)
    memory_mb: int = 128
    env: Mapping[str, str] = field(default_factory=dict)
    log_format: str = "Text"  # or "JSON" (LoggingConfig.LogFormat)
    log_level: str | None = None  # application log level (JSON format: AWS_LAMBDA_LOG_LEVEL)
    region: str = "ap-southeast-1"
    account: str = "123456789012"
    version: str = "$LATEST"
    task_root: str = str(REPO_ROOT)
    memory_limit: str = "auto"  # auto | cgroup | watchdog | off (emulator.memory_limit)
    init_timeout: float = INIT_TIMEOUT_S
    python: str = sys.executable

    def __post_init__(self) -> None:
        where = f"function {self.name!r}"
        if "." not in self.handler:
            raise ValueError(f"{where}: handler {self.handler!r} must be 'module.function'")
        if self.log_format not in LOG_FORMATS:
            raise ValueError(
                f"{where}: log_format {self.log_format!r} is not one of {', '.join(LOG_FORMATS)}"
            )
        if not 1 <= self.timeout <= 900:
            raise ValueError(f"{where}: timeout {self.timeout} s must be between 1 and 900")
        if not 128 <= self.memory_mb <= 10240:
            raise ValueError(f"{where}: memory_mb {self.memory_mb} must be between 128 and 10240")
        reserved = sorted(set(self.env) & RESERVED)
        if reserved:
            raise ValueError(f"{where}: reserved environment variable(s) {', '.join(reserved)} cannot be set")

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{self.name}"

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.name}"


@dataclass(frozen=True)
class LogEvent:
    """One event of the function's log, as CloudWatch Logs would hold it."""

    timestamp: int  # epoch milliseconds
    message: str
    source: str  # platform | stdout | stderr | runtime (the runtime client's own records)
    stream: str  # the environment's log stream
    request_id: str | None  # the invocation it was written in (None: during init)


@dataclass
class InvokeResult:
    """What one invocation returned and what the platform reported about it."""

    request_id: str
    status: str  # success | error | timeout
    payload: Any  # the handler's response (parsed JSON), or the error document
    error_type: str | None  # ValueError, Runtime.ExitError, Runtime.OutOfMemory, Sandbox.Timedout, ...
    report: Report
    cold: bool  # this invocation ran (or waited for) an init
    pid: int | None  # the runtime process that served it
    logs: list[LogEvent]
    response: bytes = b""  # the raw body the runtime posted to /response (or /error)

    @property
    def ok(self) -> bool:
        return self.status == "success"

    @property
    def lines(self) -> list[str]:
        """The messages of :attr:`logs`."""
        return [e.message for e in self.logs]

    @property
    def platform_lines(self) -> list[str]:
        """The lines the platform wrote for this invocation (START, REPORT, ``platform.*``, ...)."""
        return [e.message for e in self.logs if e.source == "platform"]


def _exit_reason(returncode: int) -> str:
    """How Lambda words a runtime's end: ``exit status 1``, ``signal: killed``."""
    if returncode < 0:
        name = signal.strsignal(-returncode) or f"signal {-returncode}"
        return f"Runtime exited with error: signal: {name.lower()}"
    if returncode == 0:
        return "Runtime exited without providing a reason"
    return f"Runtime exited with error: exit status {returncode}"


def _trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0"


class _Output:
    """Reads the runtime's stdout, stderr (line by line) and telemetry pipe (framed records)."""

    def __init__(self, fds: dict[int, str], emit: Callable[[str, str, float], None]) -> None:
        self._emit = emit
        self._names = dict(fds)
        self._buf = {fd: b"" for fd in fds}
        self._open = set(fds)
        self._lock = threading.Lock()
        self._sel = selectors.DefaultSelector()
        for fd in fds:
            os.set_blocking(fd, False)
            self._sel.register(fd, selectors.EVENT_READ)
        self._thread = threading.Thread(target=self._loop, name="lambda-output", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            with self._lock:
                if not self._open:
                    return
            try:
                ready = self._sel.select(timeout=0.05)
            except (OSError, ValueError):  # finish() gave up on a pipe a grandchild holds open
                return
            with self._lock:
                for key, _ in ready:
                    self._read(key.fd)

    def _read(self, fd: int) -> None:
        while fd in self._open:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                self._close(fd)
                return
            self._buf[fd] += chunk
            self._parse(fd, final=False)

    def _parse(self, fd: int, *, final: bool) -> None:
        buf, name = self._buf[fd], self._names[fd]
        if name == "runtime":
            while len(buf) >= _FRAME_HEADER:
                length = int.from_bytes(buf[4:8], "big")
                if len(buf) < _FRAME_HEADER + length:
                    break
                micros = int.from_bytes(buf[8:16], "big")
                message = buf[_FRAME_HEADER : _FRAME_HEADER + length].decode("utf-8", "replace")
                self._emit(name, message.removesuffix("\n"), micros / 1e6)
                buf = buf[_FRAME_HEADER + length :]
        else:
            *lines, buf = buf.split(b"\n")
            if final and buf:
                lines, buf = [*lines, buf], b""
            now = time.time()
            for line in lines:
                self._emit(name, line.decode("utf-8", "replace"), now)
        self._buf[fd] = buf

    def _close(self, fd: int) -> None:
        self._parse(fd, final=True)
        self._open.discard(fd)
        with contextlib.suppress(KeyError, ValueError):
            self._sel.unregister(fd)

    def drain(self) -> None:
        """Read everything written so far (the runtime wrote it before its last API call)."""
        with self._lock:
            for fd in list(self._open):
                self._read(fd)

    def finish(self, timeout: float = 2.0) -> None:
        """The process is gone: read to the end of every pipe, then stop."""
        self._thread.join(timeout)
        with self._lock:
            for fd in list(self._open):
                self._read(fd)
                if fd in self._open:  # a grandchild still holds it: stop reading anyway
                    self._close(fd)
        self._thread.join(timeout)
        self._sel.close()


class _Environment:
    """One execution environment: the runtime process, its output, its memory limit."""

    def __init__(self, fn: LambdaFunction, stream: str) -> None:
        cfg = fn.config
        self.stream = stream
        self.limit: MemoryLimit = memory_limit(cfg.memory_limit, cfg.memory_mb)
        read_fd, write_fd = os.pipe()
        status_read, status_write = os.pipe()
        argv = [cfg.python, "-I", "-S", "-c", _LAUNCHER, str(status_write), cfg.python, "-m", "awslambdaric"]
        argv.append(cfg.handler)
        try:
            command = self.limit.wrap(argv)
        except OSError:
            if cfg.memory_limit != "auto":
                raise
            self.limit.close()
            self.limit, command = RssWatchdog(cfg.memory_mb), argv
        self.started = time.perf_counter()
        try:
            self.proc = subprocess.Popen(
                command,
                env=fn._process_env(stream, write_fd),
                cwd=cfg.task_root,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(write_fd, status_write),
                start_new_session=True,  # its own process group: killed whole, spared the caller's signals
            )
        except BaseException:
            os.close(read_fd)
            os.close(status_read)
            raise
        finally:
            os.close(write_fd)
            os.close(status_write)
        self._telemetry_fd = read_fd
        self._status = os.fdopen(status_read, "rb")
        first = self._status.readline()
        self.pid = int(first) if first.strip() else self.proc.pid  # the runtime process itself
        self.returncode: int | None = None
        assert self.proc.stdout is not None and self.proc.stderr is not None

        def emit(source: str, message: str, at: float) -> None:
            fn._append(source, message, at, stream)

        self.output = _Output(
            {self.proc.stdout.fileno(): "stdout", self.proc.stderr.fileno(): "stderr", read_fd: "runtime"},
            emit,
        )
        self.exited = threading.Event()

        def watch() -> None:
            line = self._status.readline()  # the runtime's exit status, from the launcher
            launcher = self.proc.wait()
            # no status: the launcher went with its group (our kill, a cgroup OOM kill)
            self.returncode = int(line) if line.strip() else (launcher if launcher < 0 else -signal.SIGKILL)
            self.exited.set()
            fn._wake.set()

        threading.Thread(target=watch, name=f"lambda-exit-{self.pid}", daemon=True).start()
        self.limit.attach(self.pid, fn._wake.set)

    def kill(self) -> None:
        """SIGKILL the runtime (its launcher reaps it and exits), then whatever is left of its group
        (processes the handler started)."""
        if not self.exited.is_set():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.pid, signal.SIGKILL)
            self.exited.wait(5)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.exited.wait(5)

    def close(self) -> None:
        """Kill what is left, read the last output, release the pipes and the memory limit."""
        self.kill()
        self.output.finish()
        for f in (self.proc.stdout, self.proc.stderr, self._status):
            if f is not None:
                f.close()
        with contextlib.suppress(OSError):
            os.close(self._telemetry_fd)
        self.limit.close()


@dataclass
class _InitOutcome:
    ok: bool
    duration_ms: float
    status: str = "success"
    error_type: str | None = None
    payload: Any = None


class LambdaFunction:
    """One Lambda function run locally under ``awslambdaric``; see the module docstring.

    ``ship_logs`` puts every event into CloudWatch Logs (``/aws/lambda/<name>`` on the server
    ``AWS_ENDPOINT_URL`` points at) after each invocation; ``echo`` writes every event to a
    stream as it arrives (e.g. ``sys.stderr`` while debugging).
    """

    def __init__(
        self,
        config: FunctionConfig,
        *,
        ship_logs: bool = False,
        logs_client: Any = None,
        echo: IO[str] | None = None,
    ) -> None:
        self.config = config
        self.echo = echo
        self.events: list[LogEvent] = []
        self.environments = 0  # how many runtime processes were started
        self._shipper = CloudWatchLogs(logs_client) if (ship_logs or logs_client is not None) else None
        self._shipped = 0
        self._lock = threading.RLock()
        self._log_lock = threading.Lock()
        self._wake = threading.Event()
        self._env: _Environment | None = None
        self._reset_pending = False  # the last invocation killed the environment: suppressed init next
        self._warmed_ms: float | None = None  # init duration of an environment warm() started
        self._rid: str | None = None
        self._platform = PlatformLog(config.log_format, function_name=config.name, version=config.version)
        self.api = RuntimeAPI(on_change=self._wake.set).start()

    # --- lifecycle ------------------------------------------------------------------------------

    def __enter__(self) -> LambdaFunction:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the environment (SIGKILL, as Lambda's shutdown of a function without extensions)
        and the Runtime API; ship what is left."""
        with self._lock:
            if self._env is not None:
                self._env.close()
                self._env = None
            self._ship()
            self.api.stop()

    def update(self, **changes: Any) -> None:
        """Change the configuration (timeout, memory_mb, env, log_format, ...); like
        UpdateFunctionConfiguration, the next invocation gets a new environment."""
        with self._lock:
            self.config = replace(self.config, **changes)
            self._platform = PlatformLog(
                self.config.log_format, function_name=self.config.name, version=self.config.version
            )
            self.kill()
            self._reset_pending = False

    def kill(self) -> None:
        """Kill the current environment now (between invocations: the next one inits again)."""
        with self._lock:
            if self._env is not None:
                self._env.close()
                self._env = None
            self._warmed_ms = None

    def warm(self) -> float | None:
        """Start an environment and run its init now, ahead of any invocation (Lambda does so
        at times for on-demand functions, and always for provisioned concurrency); the first
        invocation then finds it ready and still reports its ``Init Duration``. Returns that
        duration in ms, or None if the init failed (the next invocation tries again)."""
        with self._lock:
            if self._env is not None and not self._env.exited.is_set():
                return None  # already up
            self.kill()
            self._reset_pending = False
            env = self._spawn("init")
            out = self._await_init(env, "init", time.perf_counter() + self.config.init_timeout, "")
            self._warmed_ms = out.duration_ms if out.ok else None
            return self._warmed_ms

    @property
    def pid(self) -> int | None:
        """The current runtime process, if one is running."""
        env = self._env
        return env.pid if env is not None and not env.exited.is_set() else None

    @property
    def memory_enforcement(self) -> str | None:
        """How the current environment's memory size is enforced (cgroup | watchdog | off)."""
        return self._env.limit.kind if self._env is not None else None

    def lines(self) -> list[str]:
        """Every message of the function's log so far, in order."""
        with self._log_lock:
            return [e.message for e in self.events]

    # --- the log ----------------------------------------------------------------------------------

    def _append(self, source: str, message: str, at: float, stream: str) -> None:
        event = LogEvent(int(at * 1000), message, source, stream, self._rid)
        with self._log_lock:
            self.events.append(event)
        if self.echo is not None:
            self.echo.write(message + "\n")

    def _ship(self) -> None:
        if self._shipper is None:
            return
        with self._log_lock:
            fresh = self.events[self._shipped :]
            self._shipped = len(self.events)
        if fresh:
            self._shipper.ship(self.config.log_group, fresh)

    # --- the environment ------------------------------------------------------------------------

    def _process_env(self, stream: str, telemetry_fd: int) -> dict[str, str]:
        cfg = self.config
        spec = importlib.util.find_spec("awslambdaric")
        runtime_dir = str(Path(spec.origin).parent) if spec and spec.origin else ""
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "PYTHONPATH": cfg.task_root,
            **{k: v for k, v in os.environ.items() if k.startswith("AWS_ENDPOINT_URL")},
            **{str(k): str(v) for k, v in cfg.env.items()},
            "_HANDLER": cfg.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_python{sys.version_info.major}.{sys.version_info.minor}",
            "AWS_LAMBDA_FUNCTION_NAME": cfg.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(cfg.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": cfg.version,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": cfg.log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": stream,
            "AWS_REGION": cfg.region,
            "AWS_DEFAULT_REGION": cfg.region,
            "AWS_LAMBDA_RUNTIME_API": self.api.address,
            "LAMBDA_TASK_ROOT": cfg.task_root,
            "LAMBDA_RUNTIME_DIR": runtime_dir,
            "_LAMBDA_TELEMETRY_LOG_FD": str(telemetry_fd),
        }
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            env[k] = os.environ.get(k) or FAKE_ENV[k]  # the execution role's credentials
        if cfg.log_format == JSON:
            env["AWS_LAMBDA_LOG_FORMAT"] = JSON
            if cfg.log_level:
                env["AWS_LAMBDA_LOG_LEVEL"] = cfg.log_level.upper()
        return env

    def _wait(self, env: _Environment, done: Callable[[], bool], deadline: float) -> bool:
        """Wait until ``done()``, the process's exit or ``deadline`` (perf_counter); returns ``done()``."""
        while True:
            self._wake.clear()
            if done():
                return True
            if env.exited.is_set() or time.perf_counter() >= deadline:
                return done()
            self._wake.wait(max(0.0, deadline - time.perf_counter()))

    def _spawn(self, phase: str) -> _Environment:
        """Start a runtime process (a new environment, with its own log stream)."""
        cfg = self.config
        self.api.new_environment()
        day = time.strftime("%Y/%m/%d", time.gmtime())
        env = _Environment(self, f"{day}/[{cfg.version}]{uuid.uuid4().hex}")
        self._env = env
        self.environments += 1
        major, minor = sys.version_info[:2]
        version = f"python:{major}.{minor}.local"
        arn = f"arn:aws:lambda:{cfg.region}::runtime:python{major}.{minor}-local"
        self._say_in(env, self._platform.init_start(version, arn, phase=phase))
        return env

    def _await_init(self, env: _Environment, phase: str, deadline: float, request_id: str) -> _InitOutcome:
        """Wait for the runtime's first ``/next`` (init done), its ``/init/error``, its exit or
        ``deadline``; on failure the environment is closed and ``INIT_REPORT`` written."""
        api = self.api
        self._wait(env, lambda: api.ready_at is not None or api.init_error is not None, deadline)
        ready, failed = api.ready_at, api.init_error
        if ready is not None and failed is None:
            duration = (ready - env.started) * 1000
            self._say_in(env, self._platform.init_report(duration, phase=phase, status="success"))
            return _InitOutcome(True, duration)
        duration = (time.perf_counter() - env.started) * 1000
        if failed is not None:
            env.exited.wait(2.0)  # the runtime exits right after reporting
            doc, header_type = failed
            error_type = header_type or doc.get("errorType") or "Runtime.Unknown"
            out = _InitOutcome(False, duration, "error", error_type, doc)
        elif env.exited.is_set():
            error_type = "Runtime.OutOfMemory" if env.limit.oom_killed else "Runtime.ExitError"
            message = f"RequestId: {request_id} Error: {_exit_reason(env.returncode or 0)}"
            out = _InitOutcome(
                False, duration, "error", error_type, {"errorType": error_type, "errorMessage": message}
            )
        else:
            out = _InitOutcome(False, duration, "timeout")
        env.close()
        self._env = None
        self._say_in(
            env,
            self._platform.init_report(duration, phase=phase, status=out.status, error_type=out.error_type),
        )
        return out

    # --- invoking ---------------------------------------------------------------------------------

    def invoke(
        self,
        event: Any,
        *,
        client_context: Mapping[str, Any] | None = None,
        cognito_identity: Mapping[str, Any] | None = None,
        trace_id: str | None = None,
    ) -> InvokeResult:
        """Invoke the function with ``event`` (JSON-serialisable, or bytes) and wait for the end.

        Never raises for what the function does: a handler error, a timeout, a crash or an
        out-of-memory kill is an :class:`InvokeResult` with ``status`` error/timeout.
        """
        body = event if isinstance(event, bytes) else json.dumps(event).encode()
        with self._lock:
            cfg = self.config
            rid = str(uuid.uuid4())
            first_event = len(self.events)
            init_ms: float | None = None
            suppressed = False
            if self._env is not None and self._env.exited.is_set():  # died while idle
                self.kill()
                self._reset_pending = True
            if self._env is None:
                if self._reset_pending:
                    suppressed = True
                else:
                    env = self._spawn("init")
                    first = self._await_init(env, "init", time.perf_counter() + cfg.init_timeout, rid)
                    init_ms = first.duration_ms if first.ok else None
                    suppressed = not first.ok
                self._reset_pending = False
            elif self._warmed_ms is not None:  # the first invocation of an environment warm() made
                init_ms = self._warmed_ms
            self._warmed_ms = None
            cold = suppressed or init_ms is not None
            trace = trace_id or _trace_id()
            self._rid = rid
            try:
                return self._invoke(
                    rid, body, trace, init_ms, suppressed, cold, client_context, cognito_identity, first_event
                )
            finally:
                self._rid = None
                self._ship()

    def _invoke(
        self,
        rid: str,
        body: bytes,
        trace: str,
        init_ms: float | None,
        suppressed: bool,
        cold: bool,
        client_context: Mapping[str, Any] | None,
        cognito_identity: Mapping[str, Any] | None,
        first_event: int,
    ) -> InvokeResult:
        cfg = self.config
        t0 = time.perf_counter()
        epoch0 = time.time()
        deadline = t0 + cfg.timeout
        start_line = self._platform.start(rid, trace)
        if suppressed:  # the environment is made now, inside the invocation's time
            env = self._spawn("invoke")
            self._say_in(env, start_line)
            init = self._await_init(env, "invoke", deadline, rid)
            if not init.ok:
                return self._failed_init(rid, t0, init, env, first_event)
        else:
            assert self._env is not None
            env = self._env
            self._say_in(env, start_line)
        inv = Invocation(
            request_id=rid,
            body=body,
            deadline_ms=int((epoch0 + cfg.timeout) * 1000),
            function_arn=cfg.arn,
            trace_id=trace,
            client_context=json.dumps(client_context) if client_context is not None else None,
            cognito_identity=json.dumps(cognito_identity) if cognito_identity is not None else None,
        )
        self.api.submit(inv)
        self._wait(env, lambda: inv.released_at is not None, deadline)
        payload: Any
        platform_ended = False
        if inv.released_at is not None:  # the runtime is back at /next: the invoke phase is over
            env.output.drain()
            end = inv.released_at
            peak = env.limit.peak_mb()
            kind = inv.outcome or "error"
        elif env.exited.is_set():
            end = inv.answered_at or time.perf_counter()
            kind = inv.outcome if inv.outcome in ("response", "error", "too_large") else "crash"
        else:
            kind, end = "timeout", time.perf_counter()
        if kind in ("crash", "timeout") or env.exited.is_set():
            peak = env.limit.peak_mb()
            oom = env.limit.oom_killed
            env.close()
            self._env = None
            self._reset_pending = True
        else:
            oom = False
        duration = (end - t0) * 1000
        if kind == "response":
            status, error_type, payload = "success", None, _decode(inv.payload)
        elif kind == "error":
            payload = _decode(inv.payload)
            doc_type = payload.get("errorType") if isinstance(payload, dict) else None
            status, error_type = "error", doc_type or inv.error_type or "Unhandled"
        elif kind == "too_large":
            status, error_type = "error", "Function.ResponseSizeTooLarge"
            limit = (
                f"Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
            )
            payload = {"errorMessage": limit, "errorType": error_type}
        elif kind == "timeout":
            status, error_type, platform_ended = "timeout", "Sandbox.Timedout", True
            message = f"Task timed out after {cfg.timeout:.2f} seconds"
            payload = {"errorType": error_type, "errorMessage": f"RequestId: {rid} Error: {message}"}
            self._say_in(env, self._platform.timed_out(rid, cfg.timeout))
        else:  # the runtime exited (sys.exit, a signal, the out-of-memory kill)
            reason = _exit_reason(env.returncode if env.returncode is not None else -signal.SIGKILL)
            error_type = "Runtime.OutOfMemory" if oom else "Runtime.ExitError"
            status, platform_ended = "error", True
            payload = {"errorType": error_type, "errorMessage": f"RequestId: {rid} Error: {reason}"}
            self._say_in(env, self._platform.runtime_exited(rid, reason))
        report_type = None if status == "timeout" else error_type
        report = Report(
            request_id=rid,
            duration_ms=duration,
            memory_mb=cfg.memory_mb,
            max_memory_mb=round(peak),
            init_ms=init_ms,
            status=status,
            error_type=report_type,
            platform_ended=platform_ended,
        )
        produced = len(inv.payload) if kind == "response" else 0
        self._say_in(env, self._platform.runtime_done(rid, duration, status, report_type, produced))
        self._say_in(env, self._platform.end(rid))
        self._say_in(env, self._platform.report(report))
        return InvokeResult(
            rid,
            status,
            payload,
            error_type,
            report,
            cold,
            env.pid,
            self._events_since(first_event),
            inv.payload,
        )

    def _failed_init(
        self, rid: str, t0: float, init: _InitOutcome, env: _Environment, first_event: int
    ) -> InvokeResult:
        """The invocation whose (suppressed) init failed: it fails with the init's error."""
        cfg = self.config
        duration = (time.perf_counter() - t0) * 1000
        payload: Any = init.payload
        status, error_type, report_type = "error", init.error_type, init.error_type
        if init.status == "timeout":
            status, error_type, report_type = "timeout", "Sandbox.Timedout", None
            message = f"Task timed out after {cfg.timeout:.2f} seconds"
            payload = {"errorType": error_type, "errorMessage": f"RequestId: {rid} Error: {message}"}
            self._say_in(env, self._platform.timed_out(rid, cfg.timeout))
        report = Report(
            rid, duration, cfg.memory_mb, round(env.limit.peak_mb()), None, status, report_type, True
        )
        self._say_in(env, self._platform.runtime_done(rid, duration, status, report_type, 0))
        self._say_in(env, self._platform.end(rid))
        self._say_in(env, self._platform.report(report))
        return InvokeResult(
            rid, status, payload, error_type, report, True, None, self._events_since(first_event)
        )

    def _say_in(self, env: _Environment, message: str | None) -> None:
        if message is not None:
            self._append("platform", message, time.time(), env.stream)

    def _events_since(self, index: int) -> list[LogEvent]:
        with self._log_lock:
            return self.events[index:]


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")
