"""Analysis of a study's stored trials: hyperparameter importance, curve diagnosis, advice."""

from hyperknob.analysis._advice import Advice, study_advice
from hyperknob.analysis._importance import EVALUATORS, Importance, param_importances

__all__ = ["EVALUATORS", "Advice", "Importance", "param_importances", "study_advice"]
