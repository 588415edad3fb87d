"""Helpers for the text reports that ``custmine demo`` writes (markdown tables)."""
from __future__ import annotations

import pandas as pd

__all__ = ["markdown_table"]


def markdown_table(df: pd.DataFrame, fmt: dict | None = None, index: bool = True) -> str:
    """A GitHub-flavoured markdown table; ``fmt`` maps column names to formatters."""
    fmt = fmt or {}
    cols = ([str(df.index.name or "")] if index else []) + [str(c) for c in df.columns]
    rows = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    # column-wise access keeps each column's dtype (iterrows would upcast ints to float)
    columns = [df[c].tolist() for c in df.columns]
    for i, idx in enumerate(df.index):
        cells = [fmt[c](col[i]) if c in fmt else str(col[i]) for c, col in zip(df.columns, columns)]
        rows.append("| " + " | ".join(([str(idx)] if index else []) + cells) + " |")
    return "\n".join(rows)
