"""The ``observe`` command line (``observe init | check | metrics | dashboards | diag``).

A package of its own because it imports all three of observe, dashboards and diagnostics, while
``observe`` imports neither (it runs inside handlers and stays light). See :mod:`observe_cli.main`.
"""
