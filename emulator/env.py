"""Set environment variables for a block and put every touched one back afterwards."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager


@contextmanager
def scoped_env(values: Mapping[str, str], also_restore: Iterable[str] = ()) -> Iterator[None]:
    """Set ``values``; on exit restore them and ``also_restore`` (names the block may set itself)."""
    names = {*values, *also_restore}
    saved = {k: os.environ.get(k) for k in names}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
