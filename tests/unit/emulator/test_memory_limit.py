"""Memory enforcement: the cgroup v2 group's files (on a stand-in tree), the RSS watchdog (a real process)."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from emulator.memory_limit import MB, CgroupV2, NoLimit, RssWatchdog, memory_limit


def fake_cgroup_root(tmp_path: Path) -> Path:
    root = tmp_path / "cgroup"
    root.mkdir()
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (root / "cgroup.subtree_control").write_text("cpu memory pids\n")
    return root


def test_cgroup_v2_group_limits_the_environment_and_reads_its_peak_and_oom_kills(tmp_path: Path) -> None:
    root = fake_cgroup_root(tmp_path)
    assert CgroupV2.available(root)
    (root / "lambda-emulator").mkdir()
    (root / "lambda-emulator" / "cgroup.subtree_control").write_text("")
    limit = CgroupV2(256, root=root)
    # the kernel creates these files in a new group; the stand-in makes them on mkdir
    real_mkdir = Path.mkdir

    def mkdir(self: Path, *a, **k) -> None:
        real_mkdir(self, *a, **k)
        if self.parent.name == "lambda-emulator":
            for name in ("memory.max", "memory.swap.max", "memory.oom.group", "cgroup.procs"):
                (self / name).write_text("")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Path, "mkdir", mkdir)
        argv = limit.wrap(["python", "-m", "awslambdaric", "h.f"])
    group = limit.group
    assert (root / "lambda-emulator" / "cgroup.subtree_control").read_text() == "+memory"
    assert (group / "memory.max").read_text() == str(256 * MB)
    assert (group / "memory.swap.max").read_text() == "0" and (group / "memory.oom.group").read_text() == "1"
    assert (
        argv[:2] == ["/bin/sh", "-c"]
        and argv[3] == str(group / "cgroup.procs")
        and argv[4:]
        == [
            "python",
            "-m",
            "awslambdaric",
            "h.f",
        ]
    )
    # the wrapper joins the group, then execs the runtime (same pid): run it for real with `true`
    out = subprocess.run([*argv[:4], "sh", "-c", "echo $$"], capture_output=True, text=True, check=True)
    assert (group / "cgroup.procs").read_text().strip() == out.stdout.strip()
    (group / "memory.peak").write_text(str(300 * MB))
    assert limit.peak_mb() == 256.0, "reported at most at the memory size"
    (group / "memory.peak").write_text(str(100 * MB))
    assert limit.peak_mb() == 100.0
    (group / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n")
    assert not limit.oom_killed
    (group / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n")
    assert limit.oom_killed
    for f in group.iterdir():
        f.unlink()
    limit.close()
    assert not group.exists(), "the group is removed with the environment"


def test_cgroup_v2_is_not_used_where_the_controller_is_missing(tmp_path: Path) -> None:
    root = fake_cgroup_root(tmp_path)
    (root / "cgroup.subtree_control").write_text("cpu pids\n")
    assert not CgroupV2.available(root)
    assert not CgroupV2.available(tmp_path / "nothing-here")


def test_the_watchdog_kills_a_process_over_its_memory_size_and_keeps_the_peak() -> None:
    grow = (
        "import time\nchunks = []\nwhile True:\n    chunks.append(b'x' * (4 << 20))\n    time.sleep(0.001)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", grow])
    killed = threading.Event()
    dog = RssWatchdog(96)
    dog.attach(proc.pid, killed.set)
    assert proc.wait(30) == -9, "SIGKILL, as the kernel's OOM killer sends"
    assert killed.wait(5) and dog.oom_killed
    assert dog.peak_mb() == 96.0
    dog.close()


def test_the_watchdog_leaves_a_process_under_its_size_alone_and_measures_it() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "b = b'x' * (40 << 20); import time; time.sleep(0.5)"])
    dog = RssWatchdog(512)
    dog.attach(proc.pid, lambda: None)
    proc.wait(30)
    assert proc.returncode == 0 and not dog.oom_killed
    assert 40 <= dog.peak_mb() < 512
    dog.close()


def test_modes() -> None:
    assert isinstance(memory_limit("watchdog", 128), RssWatchdog)
    assert isinstance(memory_limit("off", 128), NoLimit)
    here = CgroupV2.available()
    assert memory_limit("auto", 128).kind == ("cgroup" if here else "watchdog")
    if not here:
        with pytest.raises(RuntimeError, match="not a writable cgroup v2 hierarchy"):
            memory_limit("cgroup", 128)
    with pytest.raises(ValueError, match="memory_limit"):
        memory_limit("rlimit", 128)
