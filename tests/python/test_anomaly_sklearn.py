"""scikit-learn's estimator checks for every anomaly detector."""
from sklearn.utils.estimator_checks import parametrize_with_checks

from custmine.anomaly import ECOD, HBOS, EllipticEnvelope, IsolationForest, LocalOutlierFactor, RobustZScore

ESTIMATORS = [
    IsolationForest(n_estimators=20, random_state=0),
    LocalOutlierFactor(n_neighbors=5),
    LocalOutlierFactor(n_neighbors=5, novelty=True),
    RobustZScore(),
    HBOS(),
    ECOD(),
    EllipticEnvelope(random_state=0, n_trials=50),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compat(estimator, check):
    check(estimator)
