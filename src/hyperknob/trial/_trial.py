"""Trial: what an objective function receives. Define-by-run: suggest as you go."""

from __future__ import annotations

import datetime
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hyperknob._checks import check_int
from hyperknob.distributions import (
    BaseDistribution,
    CategoricalChoice,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    Prior,
    check_same_distribution,
)
from hyperknob.trial._frozen import FrozenTrial, fits
from hyperknob.trial._state import TrialState

if TYPE_CHECKING:
    from hyperknob.trial._host import TrialHost


# Define-by-run builds the same distributions trial after trial; validate each one only once.
# Keys carry the argument types so that, e.g., low=True is still rejected rather than matched to 1.
_DISTRIBUTIONS: dict[tuple[Any, ...], BaseDistribution] = {}


def _distribution(
    key: tuple[Any, ...], build: Callable[[], BaseDistribution]
) -> BaseDistribution:
    try:
        found = _DISTRIBUTIONS.get(key)
    except TypeError:  # an unhashable argument: the constructor says what was expected
        return build()
    if found is None:
        found = build()
        if len(_DISTRIBUTIONS) >= 4096:
            _DISTRIBUTIONS.clear()
        _DISTRIBUTIONS[key] = found
    return found


def _as_prior(prior: Prior | CategoricalChoice) -> Prior | None:
    """Return ``prior`` as a :class:`Prior`: None stays None, a bare value is the centre."""
    if prior is None or isinstance(prior, Prior):
        return prior
    return Prior(prior)


def _prior_key(prior: Prior | None) -> tuple[Any, ...]:
    # Types in the key: a prior centred at True must not reuse one centred at 1.
    if prior is None:
        return (None,)
    return (type(prior.center), prior.center, prior.confidence)


class Trial:
    """One evaluation of the objective. Created by :meth:`Study.ask`; not built by users.

    A trial reads and writes only through its :class:`~hyperknob.trial.TrialHost`, which its
    study hands it: the study is what writes to storage.

    Example:
        >>> def objective(trial):
        ...     lr = trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True)
        ...     layers = trial.suggest_int("hidden_layers", 1, 5)
        ...     return lr * layers
    """

    def __init__(self, frozen: FrozenTrial, host: TrialHost) -> None:
        self._host = host
        self._open_trials = host.open_trials
        self._trial_id = frozen.trial_id
        self._number = frozen.number
        self._params: dict[str, Any] = dict(frozen.params)
        self._distributions: dict[str, BaseDistribution] = dict(frozen.distributions)
        self._user_attrs: dict[str, Any] = dict(frozen.user_attrs)
        self._system_attrs: dict[str, Any] = dict(frozen.system_attrs)
        self._intermediate: dict[int, float] = dict(frozen.intermediate_values)
        self._datetime_start = frozen.datetime_start or datetime.datetime.now()
        fixed = frozen.system_attrs.get("fixed_params", {})
        self._fixed: dict[str, Any] = dict(fixed) if isinstance(fixed, dict) else {}
        self._relative: dict[str, Any] | None = None
        self._state = frozen.state
        self._frozen: FrozenTrial | None = None  # the snapshot, rebuilt after a change

    # -- identity --------------------------------------------------------------------------
    @property
    def number(self) -> int:
        """Return the trial's number, unique and consecutive within its study from 0."""
        return self._number

    @property
    def study(self) -> Any:
        """Return the :class:`~hyperknob.Study` this trial belongs to (in a worker process or
        on a Ray node: that worker's handle on it)."""
        return self._host.study

    @property
    def trial_id(self) -> int:
        """Return the trial's id in its storage (unique across the storage's studies)."""
        return self._trial_id

    @property
    def state(self) -> TrialState:
        """Return RUNNING while the trial runs, then the state its study finished it in."""
        if self._trial_id in self._open_trials:
            return self._state
        return self._host.stored_state(self._trial_id)

    @property
    def params(self) -> dict[str, Any]:
        """Return a copy of the parameters suggested so far."""
        return dict(self._params)

    @property
    def distributions(self) -> dict[str, BaseDistribution]:
        """Return a copy of the distributions of the parameters suggested so far."""
        return dict(self._distributions)

    @property
    def user_attrs(self) -> dict[str, Any]:
        """Return a copy of the user attributes."""
        return dict(self._user_attrs)

    @property
    def system_attrs(self) -> dict[str, Any]:
        """Return a copy of the system attributes."""
        return dict(self._system_attrs)

    @property
    def datetime_start(self) -> datetime.datetime:
        """Return when the trial started."""
        return self._datetime_start

    # -- suggestions -----------------------------------------------------------------------
    def suggest_float(
        self,
        name: str,
        low: float,
        high: float,
        *,
        step: float | None = None,
        log: bool = False,
        prior: Prior | float | None = None,
    ) -> float:
        """Suggest a float in ``[low, high]``, log-uniform with ``log``, on a ``step`` grid.

        ``prior`` is a :class:`~hyperknob.distributions.Prior` or just its centre: samplers
        that use priors look near it first.
        """
        belief = _as_prior(prior)
        key = (FloatDistribution, type(low), low, type(high), high, log, type(step), step,
               *_prior_key(belief))
        distribution = _distribution(
            key, lambda: FloatDistribution(low, high, log=log, step=step, prior=belief))
        value: float = self._suggest(name, distribution)
        return value

    def suggest_int(
        self,
        name: str,
        low: int,
        high: int,
        *,
        step: int = 1,
        log: bool = False,
        prior: Prior | float | None = None,
    ) -> int:
        """Suggest an int in ``[low, high]`` (both included).

        ``prior`` is a :class:`~hyperknob.distributions.Prior` or just its centre, which may
        fall between two ints (1.5: "one or two").
        """
        belief = _as_prior(prior)
        key = (IntDistribution, type(low), low, type(high), high, log, type(step), step,
               *_prior_key(belief))
        distribution = _distribution(
            key, lambda: IntDistribution(low, high, log=log, step=step, prior=belief))
        value: int = self._suggest(name, distribution)
        return value

    def suggest_categorical(
        self,
        name: str,
        choices: Sequence[CategoricalChoice],
        *,
        prior: Prior | CategoricalChoice = None,
    ) -> CategoricalChoice:
        """Suggest one of ``choices`` (None, bool, int, float or str).

        ``prior`` is a :class:`~hyperknob.distributions.Prior` or just the favoured choice.
        A choice of ``None`` cannot be given bare (None means "no prior"): use
        ``Prior(None)``.
        """
        belief = _as_prior(prior)
        if isinstance(choices, (list, tuple)):
            key: tuple[Any, ...] = (CategoricalDistribution, *((type(c), c) for c in choices),
                                    *_prior_key(belief))
        else:
            key = (CategoricalDistribution, [])  # unhashable: always validated afresh
        distribution = _distribution(
            key, lambda: CategoricalDistribution(choices, prior=belief))  # type: ignore[arg-type]
        value: CategoricalChoice = self._suggest(name, distribution)
        return value

    def _suggest(self, name: str, distribution: BaseDistribution) -> Any:
        if not isinstance(name, str) or not name:
            raise TypeError(f"parameter name must be a non-empty str, got {name!r}")
        if name in self._distributions:
            check_same_distribution(name, self._distributions[name], distribution)
            return self._params[name]
        self._check_running()
        if name in self._fixed:
            value, source = self._fixed[name], "enqueued value"
        else:
            relative = self._relative_params()
            if name in relative and fits(relative[name], distribution):
                value, source = relative[name], "sampler's joint suggestion"
            else:
                # Not jointly sampled, or sampled for another range than this call asks for
                # (the objective changed the parameter's range): draw it on its own.
                try:
                    value = self._host.sample_independent(
                        self._frozen or self._freeze(), name, distribution)
                except ValueError:
                    # A sampler with no other value (a grid) insists on one off the float
                    # step asked for: use it, as Optuna does, under the step-less range.
                    relaxed = _without_step(distribution, relative.get(name))
                    if relaxed is None:
                        raise
                    warnings.warn(
                        f"parameter {name!r}: the sampler's value {relative[name]!r} is off the "
                        f"step of {distribution!r}; it is used, stored with {relaxed!r}",
                        stacklevel=3)
                    value, distribution = relative[name], relaxed
                source = "sampler's suggestion"
        try:
            internal = distribution.to_internal(value)
        except (TypeError, ValueError) as error:
            raise ValueError(f"parameter {name!r}: {source} {value!r} does not fit "
                             f"{distribution!r}") from error
        if not distribution.contains(internal):
            raise ValueError(
                f"parameter {name!r}: {source} {value!r} lies outside {distribution!r}"
            )
        self._host.set_param(self._trial_id, name, internal, distribution)
        external = distribution.to_external(internal)
        self._params[name] = external
        self._distributions[name] = distribution
        self._frozen = None
        return external

    def _relative_params(self) -> dict[str, Any]:
        if self._relative is None:
            self._relative = dict(self._host.sample_relative(self._frozen or self._freeze()))
        return self._relative

    # -- reporting and pruning -------------------------------------------------------------
    def report(self, value: float, step: int) -> None:
        """Report an intermediate value (e.g. validation loss after epoch ``step``)."""
        check_int("step", step, least=0)
        if isinstance(value, (str, bytes, bool)) or value is None:
            raise TypeError(f"reported value must be a float, got {value!r}")
        try:
            number = float(value)
        except (TypeError, ValueError) as error:
            raise TypeError(f"reported value must be a float, got {value!r}") from error
        if step in self._intermediate:
            warnings.warn(
                f"trial {self._number} already reported step {step}; the new value "
                f"{number!r} is ignored", stacklevel=2)
            return
        self._check_running()
        self._host.report(self._trial_id, step, number)
        self._intermediate[step] = number
        self._frozen = None

    def should_prune(self) -> bool:
        """Return whether the study's pruner says this trial should stop now.

        The pruner's reason is kept: a ``TrialPruned`` raised without a message after this
        stores it with the trial (``system_attrs["prune_reason"]``).
        """
        return self._host.should_prune(self._frozen or self._freeze())

    def set_user_attr(self, key: str, value: Any) -> None:
        """Attach a JSON-serializable value to the trial."""
        self._check_running()
        self._host.set_attr(self._trial_id, "user", key, value)
        self._user_attrs[key] = value
        self._frozen = None

    def set_system_attr(self, key: str, value: Any) -> None:
        """Attach a JSON-serializable value for hyperknob's own components."""
        self._check_running()
        self._host.set_attr(self._trial_id, "system", key, value)
        self._system_attrs[key] = value
        self._frozen = None

    def snapshot(self, *, finished: TrialState | None = None,
                 values: tuple[float, ...] | None = None,
                 system_attrs: Mapping[str, Any] | None = None) -> FrozenTrial:
        """Return the trial as it stands, as a :class:`FrozenTrial` (cached until it changes).

        With ``finished``: the record as its study stores it on finishing it in that state,
        with ``values``, ``system_attrs`` added and the completion time now.
        """
        if finished is not None:
            return FrozenTrial.build(
                number=self._number, trial_id=self._trial_id, state=finished, values=values,
                params=self._params, distributions=self._distributions,
                user_attrs=self._user_attrs,
                system_attrs={**self._system_attrs, **system_attrs} if system_attrs
                else self._system_attrs,
                intermediate_values=self._intermediate, datetime_start=self._datetime_start,
                datetime_complete=datetime.datetime.now())
        return self._frozen or self._freeze()

    def _freeze(self) -> FrozenTrial:
        self._frozen = FrozenTrial.build(
            number=self._number, trial_id=self._trial_id, state=self._state, values=None,
            params=self._params, distributions=self._distributions,
            user_attrs=self._user_attrs, system_attrs=self._system_attrs,
            intermediate_values=self._intermediate, datetime_start=self._datetime_start,
            datetime_complete=None)
        return self._frozen

    # -- internals -------------------------------------------------------------------------
    def _check_running(self) -> None:
        if self._trial_id not in self._open_trials:
            from hyperknob.exceptions import UpdateFinishedTrialError

            state = self._host.stored_state(self._trial_id)
            raise UpdateFinishedTrialError(
                f"trial {self._number} is {state.name}; only a RUNNING trial can change"
            )

    def __repr__(self) -> str:
        return f"Trial(number={self._number}, params={self._params!r})"


def _not_a_float(value: Any) -> str:
    return (f"the objective returned {value!r} of type {type(value).__name__}; "
            "expected a finite float")


def _finite(value: Any) -> tuple[float | None, str | None]:
    if value is None or isinstance(value, (str, bytes, bool)):
        return None, _not_a_float(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None, _not_a_float(value)
    if not math.isfinite(number):
        return None, f"the objective returned {number!r}; expected a finite float"
    return number, None


def _items(value: Any) -> list[Any] | None:
    """Return the items of a sequence-like value (a list, a tuple, a 1-d array), else None
    (a scalar: a float, a 0-d array or tensor)."""
    if value is None or isinstance(value, (str, bytes, dict)):
        return None
    try:
        len(value)
    except TypeError:
        return None
    return list(value)


def check_objective_values(
    value: Any, n_objectives: int
) -> tuple[tuple[float, ...] | None, str | None]:
    """Return ``(values, None)`` for what an objective of ``n_objectives`` objectives returned
    (one finite float; with several objectives a sequence of that many), else
    ``(None, reason)``. A one-objective value may also come as a sequence of one."""
    if type(value) is float and n_objectives == 1 and math.isfinite(value):
        return (value,), None  # the common case, first
    items = _items(value)
    if items is not None:
        if len(items) != n_objectives:
            return None, (f"the objective returned {len(items)} values {value!r}; the study has "
                          f"{n_objectives} objective{'s' if n_objectives > 1 else ''}")
        out = []
        for item in items:
            number, reason = _finite(item)
            if reason is not None:
                return None, f"{reason} (in {value!r})"
            assert number is not None
            out.append(number)
        return tuple(out), None
    if n_objectives > 1:
        return None, (f"the objective returned {value!r}; the study has {n_objectives} "
                      f"objectives: expected a sequence of {n_objectives} finite floats")
    number, reason = _finite(value)
    return (None, reason) if number is None else ((number,), None)


def _without_step(distribution: BaseDistribution, value: Any) -> FloatDistribution | None:
    """Return ``distribution`` without its step when it is a stepped float range and
    ``value`` a number inside it (else None)."""
    if not (isinstance(distribution, FloatDistribution) and distribution.step is not None
            and isinstance(value, (int, float)) and not isinstance(value, bool)
            and distribution.low <= value <= distribution.high):
        return None
    return FloatDistribution(distribution.low, distribution.high, log=distribution.log,
                             prior=distribution.prior)


