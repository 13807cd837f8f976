"""Analysis of a study's stored trials: hyperparameter importance, curve diagnosis, advice."""

from hyperknob.analysis._advice import Advice, study_advice
from hyperknob.analysis._diagnosis import (
    INFLUENCE,
    Diagnosis,
    Pathology,
    diagnose_curves,
    diagnose_study,
    diagnose_trial,
)
from hyperknob.analysis._importance import EVALUATORS, Importance, param_importances

__all__ = ["EVALUATORS", "INFLUENCE", "Advice", "Diagnosis", "Importance", "Pathology",
           "diagnose_curves", "diagnose_study", "diagnose_trial", "param_importances",
           "study_advice"]
