"""Result tables that fit the terminal (80 columns included) without cutting a header.

:func:`print_table` gives every column at least the width of its header's longest word (a header
may wrap between words, never lose letters), lets the cells fold, and — when the table would still be
wider than the terminal — drops the vertical rules and the outer padding (rich's ``SIMPLE_HEAD``
box). It never widens the console beyond the terminal: a table wider than the screen would be
broken by the terminal itself.
"""

from __future__ import annotations


def _fit(table) -> None:
    for col in table.columns:
        header = str(col.header)
        longest = max((len(w) for w in header.split()), default=0)
        col.min_width = max(col.min_width or 0, longest)
        col.no_wrap = False
        col.overflow = "fold"


def print_table(table, console=None) -> None:
    """Print ``table`` (a :class:`rich.table.Table`) on ``console`` (default: stdout) fitted to its width."""
    from rich import box
    from rich.console import Console
    from rich.measure import Measurement

    console = console or Console()
    _fit(table)
    natural = Measurement.get(console, console.options.update_width(10**6), table).maximum
    if natural > console.width:
        table.box = box.SIMPLE_HEAD
        table.padding = (0, 1)
        table.pad_edge = False
        table.collapse_padding = True
    console.print(table)


__all__ = ["print_table"]
