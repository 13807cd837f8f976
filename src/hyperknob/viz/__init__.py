"""Plots of a study: plot data computed apart from drawing.

Two layers:

- ``*_data`` functions read a :class:`~hyperknob.study.Study` (or a sequence of
  :class:`~hyperknob.trial.FrozenTrial`) and return small frozen dataclasses with a JSON-ready
  ``to_dict()``. They need no plotly, and stay fast at 10,000 trials (learning curves keep at
  most ``max_lines`` lines and say how many they left out).
- ``plot_*`` functions draw those records with plotly (the ``viz`` extra:
  ``pip install 'hyperknob[viz]'``), imported only when a figure is drawn, and return a
  ``plotly.graph_objects.Figure``. Each state (COMPLETE, PRUNED, FAIL, RUNNING) and each
  diagnosis label has one colour in every figure; a study with no COMPLETE trial gives an
  empty figure that says so.

A study with several objectives is drawn on its first objective, and its front with
:func:`plot_pareto_front` (data: :func:`pareto_data`).

Example:
    >>> import hyperknob
    >>> from hyperknob import viz
    >>> study = hyperknob.create_study(seed=0)
    >>> study.optimize(lambda t: (t.suggest_float("x", -5, 5) - 2) ** 2, n_trials=20)
    >>> data = viz.history_data(study)
    >>> len(data.values), data.best_values[-1] == min(data.values)
    (20, True)
    >>> fig = viz.plot_optimization_history(study)  # doctest: +SKIP
    >>> fig.write_html("history.html")  # doctest: +SKIP
"""

from hyperknob.viz._curves import CurvesData, curves_data
from hyperknob.viz._data import (
    EdfData,
    HistoryData,
    ImportanceData,
    TimelineData,
    edf_data,
    history_data,
    importance_data,
    timeline_data,
)
from hyperknob.viz._figures import (
    DIAGNOSIS_COLORS,
    STATE_COLORS,
    plot_edf,
    plot_learning_curves,
    plot_optimization_history,
    plot_param_importances,
    plot_timeline,
)
from hyperknob.viz._param_figures import plot_contour, plot_parallel_coordinate, plot_slice
from hyperknob.viz._params import (
    ContourData,
    ParallelData,
    ParamAxis,
    SliceData,
    SliceParam,
    contour_data,
    parallel_data,
    slice_data,
)
from hyperknob.viz._pareto import ParetoData, pareto_data, plot_pareto_front
from hyperknob.viz._report import build_report, layer_parameters, write_report

__all__ = [
    "DIAGNOSIS_COLORS",
    "STATE_COLORS",
    "ContourData",
    "CurvesData",
    "EdfData",
    "HistoryData",
    "ImportanceData",
    "ParallelData",
    "ParamAxis",
    "ParetoData",
    "SliceData",
    "SliceParam",
    "TimelineData",
    "build_report",
    "contour_data",
    "curves_data",
    "edf_data",
    "history_data",
    "importance_data",
    "layer_parameters",
    "parallel_data",
    "pareto_data",
    "plot_contour",
    "plot_edf",
    "plot_learning_curves",
    "plot_optimization_history",
    "plot_parallel_coordinate",
    "plot_param_importances",
    "plot_pareto_front",
    "plot_slice",
    "plot_timeline",
    "slice_data",
    "timeline_data",
    "write_report",
]
