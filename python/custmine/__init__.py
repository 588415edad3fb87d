"""custmine: customer mining for precision marketing.

Tiering (RFM, pyramid, ABC), lifetime value, association rules, classification,
regression and anomaly detection on one fast C++ core. Each family is a module,
imported on first use: ``custmine.tiering``, ``custmine.datasets``, ...
"""
import importlib

from ._core import (  # noqa: F401
    ConvergenceError,
    CustmineError,
    InvalidArgumentError,
    SerializationError,
    ShapeError,
    __version__,
)

# Families load lazily so that `import custmine` stays fast and optional extras
# (matplotlib for plots, Spark, Dask) are imported only when used.
_FAMILIES = (
    "anomaly",
    "association",
    "classification",
    "cluster",
    "clv",
    "dask",
    "datasets",
    "ensemble",
    "metrics",
    "plotting",
    "regression",
    "spark",
    "tiering",
    "tree",
)


def __getattr__(name):
    if name in _FAMILIES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'custmine' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_FAMILIES))


__all__ = [
    "CustmineError",
    "InvalidArgumentError",
    "ShapeError",
    "SerializationError",
    "ConvergenceError",
    "__version__",
]
