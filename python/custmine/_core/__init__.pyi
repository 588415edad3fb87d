"""
custmine native core (private: use the custmine package)
"""
from __future__ import annotations
from custmine._core.tiering import factorize_int64
from sklearn.exceptions import NotFittedError
import typing
from . import anomaly
from . import association
from . import classification
from . import cluster
from . import clv
from . import metrics
from . import regression
from . import tiering
from . import tree
from . import value
__all__: list[str] = ['ConvergenceError', 'CustmineError', 'InvalidArgumentError', 'NotFittedError', 'SerializationError', 'ShapeError', 'anomaly', 'association', 'classification', 'cluster', 'clv', 'factorize_int64', 'format_version', 'hardware_threads', 'metrics', 'regression', 'resolve_threads', 'tiering', 'tree', 'value']
class CustmineError(ValueError):
    pass
class InvalidArgumentError(CustmineError):
    pass
class ShapeError(InvalidArgumentError):
    pass
class SerializationError(CustmineError):
    pass
class ConvergenceError(CustmineError):
    pass
def format_version() -> int:
    """
    Model document format version.
    """
def hardware_threads() -> int:
    """
    Number of hardware threads.
    """
def resolve_threads(n_jobs: typing.SupportsInt | typing.SupportsIndex) -> int:
    """
    Threads used for n_jobs under joblib's rule (-1 = all cores).
    """
__version__: str = '0.1.0'
