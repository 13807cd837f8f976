"""Studies: create, load, optimize, inspect."""

from hyperknob._direction import StudyDirection
from hyperknob.study._functions import (
    copy_study,
    create_study,
    delete_study,
    get_all_study_names,
    get_all_study_summaries,
    load_study,
)
from hyperknob.study._heartbeat import HeartbeatPolicy
from hyperknob.study._study import Study
from hyperknob.study._view import StudyView

__all__ = [
    "HeartbeatPolicy",
    "Study",
    "StudyDirection",
    "StudyView",
    "copy_study",
    "create_study",
    "delete_study",
    "get_all_study_names",
    "get_all_study_summaries",
    "load_study",
]
