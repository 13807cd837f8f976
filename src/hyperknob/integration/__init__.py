"""Tune the networks people train: PyTorch Lightning, the Hugging Face Trainer, plain PyTorch.

Each integration reports a trial's curve to hyperknob's pruner, stops a run the pruner cuts
(the trial ends PRUNED, with the reason) and keeps the run's learning curves as the trial's
training record, so that :mod:`hyperknob.analysis` diagnoses the user's own model (diverged,
unstable, too slow, over- or underfitting) and the HTML report draws it:

- :mod:`hyperknob.integration.torch`: plain PyTorch loops, with :class:`LearningCurveRecorder`;
- :mod:`hyperknob.integration.lightning`: ``PruningCallback`` for ``lightning.Trainer``;
- :mod:`hyperknob.integration.huggingface`: ``PruningCallback`` for ``transformers.Trainer``
  and ``hyperparameter_search`` over a study.

This package imports no framework; each framework's module imports its own, so install it
with ``pip install 'hyperknob[lightning]'`` or ``'hyperknob[huggingface]'``.
"""

from hyperknob.integration._recorder import COMMON_KNOB_NAMES, LearningCurveRecorder

__all__ = ["COMMON_KNOB_NAMES", "LearningCurveRecorder"]
