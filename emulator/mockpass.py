"""MockPass (npm ``@opengovsg/mockpass``) on 127.0.0.1, under a restart wrapper.

MockPass implements the legacy Singpass v2 OIDC flow. An unknown or reused authorization code
makes its token route throw inside an async handler, and Node ends the process: the wrapper's
watcher thread starts it again on the same port, so one bad request does not take the rest of
a test run down with it. Its console output (it prints client assertions and ID tokens) goes
to a log file, never to our stdout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from emulator.moto_server import free_port

ROOT = Path(__file__).resolve().parents[1]
MOCKPASS_DIR = ROOT / "node_modules" / "@opengovsg" / "mockpass"


class MockPassError(RuntimeError):
    """MockPass could not be started or did not become healthy."""


class MockPass:
    """One MockPass process (restarted when it dies) on ``127.0.0.1:port``."""

    def __init__(
        self,
        *,
        port: int | None = None,
        rp_jwks_endpoint: str | None = None,
        env: Mapping[str, str] | None = None,
        max_restarts: int = 50,
    ) -> None:
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.issuer = f"{self.base_url}/singpass/v2"
        self.rp_jwks_endpoint = rp_jwks_endpoint
        self.extra_env = dict(env or {})
        self.max_restarts = max_restarts
        self.restarts = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        self._lock = threading.Lock()
        self._workdir = Path(tempfile.mkdtemp(prefix="mockpass-"))
        self.log_path = self._workdir / "mockpass.log"

    # --- lifecycle -----------------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SP_", "CP_", "MOCKPASS_"))}
        env.update(
            {
                "MOCKPASS_PORT": str(self.port),
                "SHOW_LOGIN_PAGE": "false",
                "MOCKPASS_STATELESS": "false",
                "NODE_ENV": "production",
            }
        )
        if self.rp_jwks_endpoint:
            env["SP_RP_JWKS_ENDPOINT"] = self.rp_jwks_endpoint
        env.update(self.extra_env)
        return env

    def _spawn(self) -> subprocess.Popen[bytes]:
        node = shutil.which("node")
        entry = MOCKPASS_DIR / "app.js"
        if node is None:
            raise MockPassError("node is not on PATH; install Node 20")
        if not entry.exists():
            raise MockPassError(
                f"{entry} not found; run `npm ci` at the repo root (package.json pins mockpass)"
            )
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child, closed by the OS on exit
        try:
            # cwd is an empty temp dir: MockPass loads a .env from its cwd and must not pick one up
            # MockPass' own index.js listens on every interface; bind its app to loopback instead
            script = (
                f"require({json.dumps(str(entry))}).app.listen({self.port}, '127.0.0.1', "
                f"() => console.warn('MockPass listening on 127.0.0.1:{self.port}'))"
            )
            return subprocess.Popen(
                [node, "-e", script],
                cwd=self._workdir,
                env=self._env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        finally:
            log.close()

    def start(self, timeout_s: float = 30.0) -> MockPass:
        """Start MockPass and its watcher; return once it answers discovery."""
        with self._lock:
            self._proc = self._spawn()
        self._watcher = threading.Thread(target=self._watch, name=f"mockpass-{self.port}", daemon=True)
        self._watcher.start()
        self.wait_healthy(timeout_s)
        return self

    def _watch(self) -> None:
        while not self._stopping.is_set():
            proc = self._proc
            if proc is not None and proc.poll() is not None and not self._stopping.is_set():
                if self.restarts >= self.max_restarts:
                    return
                with self._lock:
                    if self._stopping.is_set():
                        return
                    self.restarts += 1
                    self._proc = self._spawn()
            self._stopping.wait(0.05)

    def wait_healthy(self, timeout_s: float = 30.0) -> None:
        """Poll the discovery document until it answers 200 (after a start or a crash)."""
        import httpx

        deadline = time.monotonic() + timeout_s
        last = "no answer"
        while time.monotonic() < deadline:
            proc = self._proc
            if proc is not None and proc.poll() is not None and self._watcher is None:
                raise MockPassError(f"MockPass exited with {proc.returncode}; see {self.log_path}")
            try:
                resp = httpx.get(f"{self.issuer}/.well-known/openid-configuration", timeout=1.0)
                if resp.status_code == 200:
                    return
                last = f"HTTP {resp.status_code}"
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            time.sleep(0.1)
        raise MockPassError(
            f"MockPass not healthy on {self.base_url} after {timeout_s}s ({last}); see {self.log_path}"
        )

    def stop(self) -> None:
        """Stop the watcher first (so nothing restarts), then MockPass: TERM, then KILL."""
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        with self._lock:
            proc = self._proc
            self._proc = None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    @property
    def pid(self) -> int | None:
        """The current process id (changes after a restart)."""
        return self._proc.pid if self._proc is not None else None

    def log_text(self) -> str:
        """Everything MockPass printed (it prints tokens: read it in tests, never forward it)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@contextmanager
def mockpass(
    *, rp_jwks_endpoint: str | None = None, port: int | None = None, env: Mapping[str, str] | None = None
) -> Iterator[MockPass]:
    """Run MockPass for the duration of the block; always stopped cleanly."""
    mp = MockPass(port=port, rp_jwks_endpoint=rp_jwks_endpoint, env=env)
    try:
        mp.start()
        yield mp
    finally:
        mp.stop()
        shutil.rmtree(mp._workdir, ignore_errors=True)
