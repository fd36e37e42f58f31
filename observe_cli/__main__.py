"""``python -m observe_cli``: the same as the ``observe`` command."""

from observe_cli.main import _script

_script()
