"""UCI Bank Marketing (term-deposit telemarketing), shipped with custmine.

The file is the unmodified ``bank-additional-full.csv`` of the UCI download (41,188
calls, May 2008 - Nov 2010, 20 inputs + ``y``), gzip-compressed. Credit: S. Moro,
P. Cortez and P. Rita (2014), "A Data-Driven Approach to Predict the Success of Bank
Telemarketing", Decision Support Systems 62:22-31 (see SOURCES.md beside this file).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["load_bank_marketing"]

_FILE = Path(__file__).with_name("data") / "bank-additional-full.csv.gz"


def load_bank_marketing(*, drop_duration: bool = True, as_frame: bool = True, target_as_int: bool = True):
    """Load the bank marketing calls.

    Parameters
    ----------
    drop_duration : bool, default=True
        Drop ``duration`` (call length, known only after the call: it leaks the answer;
        the dataset's own notes say to discard it for a realistic model).
    as_frame : bool, default=True
        Return ``(X, y)`` as a DataFrame and a Series; False returns the whole table.
    target_as_int : bool, default=True
        ``y`` as 1 (subscribed) / 0 instead of "yes" / "no".

    Notes
    -----
    ``"unknown"`` is a category (missing values are coded that way); ``pdays == 999``
    means "not contacted before". Rows are in date order (a random split leaks time).
    Target rate: 4,640 / 41,188 = 11.27 %.
    """
    df = pd.read_csv(_FILE, sep=";")
    if drop_duration:
        df = df.drop(columns="duration")
    if target_as_int:
        df["y"] = (df["y"] == "yes").astype("int64")
    if not as_frame:
        return df
    y = df.pop("y")
    return df, y
