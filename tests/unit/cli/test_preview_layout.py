"""The preview's legends sit under their graph, in as many columns as the widget's width holds."""

from __future__ import annotations

from observe_cli.preview import LEGEND_MAX_ROWS, _legend_grid


def test_no_series_takes_no_legend_row() -> None:
    assert _legend_grid([], 456) == (1, 0)


def test_long_labels_take_fewer_columns_than_short_ones() -> None:
    long = ["RecordsQuarantined (ingest-worker)"] * 5
    short = ["p50", "p99"]
    assert _legend_grid(short, 456) == (2, 1)
    columns, rows = _legend_grid(long, 456)
    assert columns == 2 and rows == 3  # 34 characters at font size 6: two fit in a third of the grid
    assert _legend_grid(long, 1416)[0] == 5  # the full width holds all five in one row


def test_a_legend_never_takes_more_than_its_rows() -> None:
    columns, rows = _legend_grid([f"series {n}" for n in range(40)], 300)
    assert rows == LEGEND_MAX_ROWS and columns * rows < 40  # the rest is summarised as "+N more"
