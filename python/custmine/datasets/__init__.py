"""Small real datasets that ship inside custmine (credited in SOURCES.md beside this file).

- :func:`load_online_retail`: a 25 % customer sample of the UCI Online Retail transactions.
- :func:`load_groceries`: the 9,835 Groceries baskets of the R package arules.
- :func:`load_bank_marketing`: the UCI Bank Marketing term-deposit campaign (Moro et al. 2014).
"""
from __future__ import annotations

import gzip
from importlib import resources

import pandas as pd

__all__ = ["load_online_retail", "load_groceries", "load_bank_marketing", "data_path"]


def data_path(name: str):
    """Path-like handle of a bundled data file (for readers that want a file)."""
    return resources.files(__name__).joinpath("data", name)


def load_online_retail() -> pd.DataFrame:
    """UCI Online Retail (2010-12-01..2011-12-09), all transactions of a random 25 % of the
    4,372 registered customers (1,093 customers, 92,505 rows; seed 20111209).

    Columns: ``InvoiceNo`` (str; prefix "C" = cancellation), ``StockCode`` (str),
    ``Description`` (str), ``Quantity`` (int, negative for returns), ``InvoiceDate``
    (datetime64), ``UnitPrice`` (float, GBP), ``CustomerID`` (int), ``Country`` (str).
    Amount per row is ``Quantity * UnitPrice``. Source: UCI Machine Learning Repository
    (Chen, Sain & Guo 2012), CC BY 4.0.
    """
    with data_path("online_retail_sample.csv.gz").open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as f:
        df = pd.read_csv(
            f,
            dtype={"InvoiceNo": str, "StockCode": str, "Description": str, "Country": str,
                   "Quantity": "int64", "UnitPrice": "float64", "CustomerID": "int64"},
            keep_default_na=False,
            na_values={"Description": [""]},
        )
    df["InvoiceDate"] = pd.to_datetime(df["InvoiceDate"], format="%Y-%m-%d %H:%M:%S")
    return df


def load_groceries() -> list[list[str]]:
    """The arules Groceries data: 9,835 baskets (lists of item names, 169 items).

    Item labels are kept exactly (two end with a space: "cream cheese ", "roll products ").
    Source: R package arules (Hahsler, Hornik & Reutterer 2006), GPL.
    """
    with data_path("groceries.csv.gz").open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as f:
        return [line.rstrip("\n").split(",") for line in f if line.strip("\n")]


from .bank_marketing import load_bank_marketing  # noqa: E402
