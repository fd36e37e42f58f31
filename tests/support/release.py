"""A local git repository tagged like a release of this one's terraform/, for teams' roots to pin.

Terraform fetches ``git::file://<repo>//terraform/modules/<name>?ref=<tag>`` from it exactly as it
fetches the public ``git::https://...`` source, so a test can run a team's root offline.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: The source the docs, module READMEs and the example print; tests replace it with the local repo.
PUBLIC = "git::https://github.com/example-org/observe-pipelines.git"
_REF = re.compile(r"\?ref=(v[^\"\s]+)\"")


def pinned_tag(text: str) -> str:
    """The ``?ref=`` tag the Terraform ``text`` pins (the first one)."""
    found = _REF.search(text)
    assert found, "the root pins the modules with ?ref=v<version>"
    return found.group(1)


def _git(args: list[str], cwd: Path) -> None:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "PATH": "/usr/bin:/bin", "HOME": str(cwd)}  # fmt: skip
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def tagged_repository(repo: Path, tag: str) -> Path:
    """``repo``: this working tree's terraform/ committed and tagged ``tag``, then one commit more
    (so a source that does not pin the tag would get something else)."""
    shutil.copytree(ROOT / "terraform", repo / "terraform", ignore=shutil.ignore_patterns(".terraform*"))
    _git(["init", "-q", "-b", "main"], repo)
    _git(["add", "-A"], repo)
    _git(["commit", "-q", "-m", "release"], repo)
    _git(["tag", tag], repo)
    _git(["commit", "-q", "--allow-empty", "-m", "after the release"], repo)
    return repo


def from_local(text: str, repo: Path) -> str:
    """Terraform ``text`` with the public source replaced by the local tagged ``repo``."""
    assert PUBLIC in text, f"the root calls the modules by {PUBLIC}"
    return text.replace(PUBLIC, f"git::file://{repo}")
