"""Next steps for a diagnosed trial: generic ones, and ones drawn from the rest of the study.

A study is an experiment on its own knobs: when a run diverged at learning rate 0.3 and every
run at 0.03 or below converged, the study itself says where to cap the learning rate. These
functions read the other trials' knobs (the configuration of their training record,
else the sampled ``params``) beside their diagnoses and state such a rule with its counts, or
fall back to the article's generic advice when too few trials are comparable.

A model hyperknob did not build names its knobs itself (``lr`` for the learning rate): its
training record's ``knob_names`` maps the roles below (``learning_rate``...) to those names,
and the advice speaks of them by the user's names.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from hyperknob.analysis._diagnosis_rules import Pathology

__all__ = ["MIN_SUPPORT", "ROLES", "TrialFacts", "advice_from_study", "generic_advice",
           "trial_facts"]

#: A rule drawn from the study needs at least this many trials behind it.
MIN_SUPPORT = 3
_BAD = (Pathology.DIVERGED, Pathology.UNSTABLE)
_NUMERIC = ("learning_rate", "batch_size", "epochs", "momentum", "l1", "l2", "dropout",
            "n_layers", "units", "patience")
_CHOICES = ("optimizer", "activation", "init", "schedule")
#: The knobs the advice reads, by the names of :class:`~hyperknob.nn.MLPConfig`: a training
#: record's ``knob_names`` maps these roles to a user model's own names.
ROLES = (*_NUMERIC, *_CHOICES)


@dataclasses.dataclass(frozen=True)
class TrialFacts:
    """What the advice needs of one trial: its knobs, its diagnosis and its best loss."""

    number: int
    pathology: Pathology
    knobs: Mapping[str, Any]
    val_loss_best: float | None
    #: The user's name of each knob whose name the training record gave (role -> name).
    names: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def label(self, knob: str) -> str:
        """Return the name the advice calls ``knob`` by: the user's, else the role's."""
        return self.names.get(knob, knob)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def trial_facts(number: int, pathology: Pathology, config: Mapping[str, Any] | None,
                params: Mapping[str, Any], val_loss_best: float | None,
                knob_names: Mapping[str, str] | None = None) -> TrialFacts:
    """Collect a trial's knobs from its parameters and the configuration its training record
    holds: numbers as floats, choices as strings, layers as ``n_layers`` and ``units`` (the
    widest layer). ``knob_names`` maps a role (``learning_rate``) to the parameter or
    configuration key that plays it (``lr``)."""
    source: dict[str, Any] = dict(params)
    if isinstance(config, Mapping):
        source.update(config)
    names = {role: name for role, name in (knob_names or {}).items()
             if role in ROLES and name in source}
    for role, name in names.items():
        source[role] = source[name]
    knobs: dict[str, Any] = {}
    layers = source.get("hidden_layers")
    if isinstance(layers, (list, tuple)) and layers:
        knobs["n_layers"], knobs["units"] = float(len(layers)), float(max(layers))
    else:
        widths = [v for k, v in source.items() if k.startswith("units_l")]
        if widths and all(_number(w) is not None for w in widths):
            knobs["units"] = float(max(widths))
    for name in _NUMERIC:
        value = _number(source.get(name))
        if value is not None and name not in knobs:
            knobs[name] = value
    if source.get("patience", 0) is None:
        knobs["patience"] = None  # early stopping off
    for name in _CHOICES:
        if isinstance(source.get(name), str):
            knobs[name] = source[name]
    return TrialFacts(number, pathology, knobs, val_loss_best,
                      {role: name for role, name in names.items() if role in knobs})


def _g(value: float) -> str:
    return f"{value:.3g}"


def _range(values: Sequence[float]) -> str:
    low, high = min(values), max(values)
    return _g(low) if _g(low) == _g(high) else f"{_g(low)}-{_g(high)}"


def _the(n: int, noun: str) -> str:
    return f"the {noun}" if n == 1 else f"the {n} {noun}s"


def _named(facts: TrialFacts | None, role: str) -> tuple[str, float] | None:
    """Return the user's name and the value of a knob the training record named, if any."""
    if facts is None or role not in facts.names:
        return None
    value = facts.knobs.get(role)
    return (facts.names[role], value) if isinstance(value, float) else None


def _scaled(named: tuple[str, float] | None, low: float, high: float | None = None) -> str:
    """Return ": lr from 5 to 0.5" for a learning rate scaled by ``low`` (to ``high``)."""
    if named is None:
        return ""
    name, value = named
    to = _g(value * low) if high is None else f"{_g(value * low)}-{_g(value * high)}"
    return f": {name} from {_g(value)} to {to}"


def generic_advice(pathology: Pathology, evidence: Mapping[str, float],
                   facts: TrialFacts | None = None) -> str:
    """Return the article's next step for a pathology, without a study to draw on.

    Given the ``facts`` of a trial whose training record names its knobs (a user's model),
    the step names the user's learning rate and batch size with their values.
    """
    lr = _named(facts, "learning_rate")
    batch = _named(facts, "batch_size")
    if pathology is Pathology.DIVERGED:
        return (f"Lower the learning rate (by 10x to start{_scaled(lr, 0.1)}); with SGD lower "
                "the momentum too. A larger batch and He (ReLU) or Xavier (tanh, sigmoid) "
                "initialization steady the first steps.")
    if pathology is Pathology.UNSTABLE:
        now = f"; {batch[0]} is {_g(batch[1])}" if batch is not None else ""
        return (f"Lower the learning rate (by 3x{_scaled(lr, 1 / 3)}) or use a larger "
                f"mini-batch (32 to 128{now}); lower the momentum, or decay the learning rate "
                "with a step or cosine schedule.")
    if pathology is Pathology.TOO_SLOW:
        return (f"Raise the learning rate (by 3x to 10x{_scaled(lr, 3, 10)}; 0.01 or 0.001 are "
                "the usual starting points), switch plain SGD to Adam or add momentum, or train "
                "for more epochs.")
    if pathology is Pathology.UNDERFITTING:
        return ("Give the model more capacity (more units per layer, up to twice the inputs, "
                "or another layer; ReLU) or less regularization (lower L1/L2, less dropout), "
                "then train longer.")
    if pathology is Pathology.OVERFITTING:
        stop = evidence.get("epoch_of_min")
        at = f" near epoch {int(stop)}" if stop is not None else ""
        return (f"Regularize: raise L2 or dropout, or use fewer or narrower layers; or stop "
                f"earlier{at} (early stopping with a patience of a few epochs).")
    return "Nothing to fix: the run converged; compare its score with the study's best."


def _values(trials: Sequence[TrialFacts], name: str) -> list[tuple[float, TrialFacts]]:
    return [(float(t.knobs[name]), t) for t in trials
            if isinstance(t.knobs.get(name), float)]


def _same_optimizer(this: TrialFacts, others: Sequence[TrialFacts],
                    ) -> tuple[list[TrialFacts], str]:
    """Return the trials with this trial's optimizer, and the words that say so.

    Learning rates of different optimizers are not comparable (SGD at 0.05 is gentle, Adam at
    0.05 is hot), so a rule drawn from the same optimizer's trials is the sharper one.
    """
    optimizer = this.knobs.get("optimizer")
    if not isinstance(optimizer, str):
        return [], ""
    return [t for t in others if t.knobs.get("optimizer") == optimizer], (
        f"{this.label('optimizer')} {optimizer} and ")


def _cap_rule(this: TrialFacts, others: Sequence[TrialFacts], name: str,
              safer: str, scope: str = "") -> str | None:
    """State "every trial with NAME <= X trained smoothly" when the study supports it:
    at least MIN_SUPPORT trials on the safe side, and most of those beyond it went bad."""
    mine = this.knobs.get(name)
    if not isinstance(mine, float):
        return None
    rows = [*_values(others, name), (mine, this)]
    sign = 1.0 if safer == "lower" else -1.0  # compare on sign * value: lower is safer
    bad_edge = min(sign * v for v, t in rows if t.pathology in _BAD)
    good = [sign * v for v, t in rows if t.pathology not in _BAD and sign * v < bad_edge]
    if len(good) < MIN_SUPPORT:
        return None
    cap = max(good)
    beyond = [t for v, t in rows if sign * v > cap]
    n_bad = sum(t.pathology in _BAD for t in beyond)
    if n_bad < len(beyond) / 2:
        return None  # most runs beyond the cap were fine: this knob does not explain it
    op, limit = ("<=", cap) if safer == "lower" else (">=", -cap)
    verb = "diverged" if this.pathology is Pathology.DIVERGED else "oscillated"
    action = "cap" if safer == "lower" else "keep"
    say = this.label(name)
    # as many digits as tell the cap from the nearest bad value (1.318 vs 1.324, not 1.32)
    mine_text, limit_text = _apart(mine, limit, sign * bad_edge)
    return (f"{say} {mine_text} {verb}; every trial with {scope}{say} {op} {limit_text} trained "
            f"smoothly ({len(good)} of {len(good)}), beyond it {n_bad} of {len(beyond)} "
            f"diverged or oscillated: {action} {say} at {limit_text}"
            + (" or below." if safer == "lower" else " or above."))


def _apart(mine: float, limit: float, edge: float) -> tuple[str, str]:
    """Return ``mine`` and ``limit`` with 3 significant digits, or as many more as each takes
    to read apart: ``limit`` from ``mine`` and from the bad ``edge`` beyond it."""
    def text(value: float, *others: float) -> str:
        for digits in range(3, 10):
            shown = f"{value:.{digits}g}"
            if all(f"{other:.{digits}g}" != shown for other in others if other != value):
                break
        return shown

    return text(mine, limit), text(limit, mine, edge)


def _choice_rule(this: TrialFacts, others: Sequence[TrialFacts], name: str) -> str | None:
    mine = this.knobs.get(name)
    if not isinstance(mine, str):
        return None
    for choice in sorted({str(t.knobs[name]) for t in others
                          if isinstance(t.knobs.get(name), str)}):
        if choice == mine:
            continue
        with_choice = [t for t in others if t.knobs.get(name) == choice]
        if len(with_choice) >= MIN_SUPPORT and not any(t.pathology in _BAD
                                                       for t in with_choice):
            say = this.label(name)
            return (f"every trial with {say} {choice} trained smoothly ({len(with_choice)} of "
                    f"{len(with_choice)}); this one used {mine}: try {say} {choice}.")
    return None


def _median(trials: Sequence[TrialFacts], name: str) -> float | None:
    values = [v for v, _ in _values(trials, name)]
    return statistics.median(values) if values else None


def _compare(this: TrialFacts, group: Sequence[TrialFacts], wanted: Mapping[str, str],
             ) -> list[str]:
    """List the knobs where ``this`` lies on the wrong side of the group's median."""
    notes = []
    for name, direction in wanted.items():
        mine, median = this.knobs.get(name), _median(group, name)
        if not isinstance(mine, float) or median is None:
            continue
        low, high = (mine, median) if direction == "more" else (median, mine)
        if high > low * 1.5 + 1e-12:  # clearly on the wrong side, not a rounding apart
            notes.append(f"{this.label(name)} {_g(median)} (this one {_g(mine)})")
    return notes


def _best(trials: Sequence[TrialFacts], k: int = 3) -> list[TrialFacts]:
    ranked = sorted((t for t in trials if t.val_loss_best is not None
                     and t.pathology not in _BAD), key=lambda t: t.val_loss_best or 0.0)
    return ranked[:k]


def _span(trials: Sequence[TrialFacts], name: str) -> str | None:
    values = [v for v, _ in _values(trials, name)]
    return _range(values) if values else None


def _too_slow(this: TrialFacts, others: Sequence[TrialFacts]) -> str | None:
    lr, epochs = this.knobs.get("learning_rate"), this.knobs.get("epochs")
    if this.val_loss_best is None or not isinstance(lr, float):
        return None
    say = this.label("learning_rate")
    mine = f"this one used {say} {_g(lr)}" + (
        f" for {_g(epochs)} epochs" if isinstance(epochs, float) else "")
    longer = f" (about {_g(2 * epochs)})" if isinstance(epochs, float) else ""
    peers, _ = _same_optimizer(this, others)
    better = [t for t in _best(peers or others, len(others))
              if (t.val_loss_best or 0.0) < this.val_loss_best][:3] or [
        t for t in _best(others, len(others)) if (t.val_loss_best or 0.0)
        < this.val_loss_best][:3]
    if not better:
        if len([t for t in others if t.val_loss_best is not None]) < MIN_SUPPORT - 1:
            return None
        return (f"it is the study's best trial (best validation loss {_g(this.val_loss_best)}) "
                f"and was still improving when it stopped; {mine}: train it for more epochs"
                f"{longer}.")
    best_lr = _median(better, "learning_rate")
    losses = [t.val_loss_best or 0.0 for t in better]
    head = (f"{_the(len(better), 'trial')} that did better (best validation loss "
            f"{_range(losses)}) used {say} {_span(better, 'learning_rate')}")
    if _span(better, "epochs") is not None:
        head += f" and {_span(better, 'epochs')} epochs"
    if best_lr is not None and lr < best_lr / 2:
        whose = "theirs" if len(better) == 1 else "their median"
        return (f"{head}; {mine} and was still improving at the end: raise {say} "
                f"toward {_g(best_lr)} ({whose}), or train longer.")
    return f"{head}; {mine} and was still improving at the end: train for more epochs{longer}."


def _overfitting(this: TrialFacts, others: Sequence[TrialFacts],
                 evidence: Mapping[str, float]) -> str | None:
    group = [t for t in others if t.pathology in (Pathology.HEALTHY, Pathology.TOO_SLOW)]
    if len(group) < 2:
        return None
    notes = _compare(this, group, {"dropout": "more", "l2": "more", "l1": "more",
                                   "n_layers": "less", "units": "less", "epochs": "less"})
    if not notes:
        return None
    advice = (f"{_the(len(group), 'trial')} that did not overfit used (median) "
              + ", ".join(notes) + ": add dropout or L2, or use fewer or narrower layers")
    if "patience" in this.knobs and this.knobs["patience"] is None:
        stop = evidence.get("epoch_of_min")
        advice += (", or turn on early stopping (patience)"
                   + (f", which would keep epoch {int(stop)}'s weights" if stop is not None
                      else ""))
    return advice + "."


def _underfitting(this: TrialFacts, others: Sequence[TrialFacts]) -> str | None:
    group = [t for t in others if t.pathology in (Pathology.HEALTHY, Pathology.OVERFITTING,
                                                  Pathology.TOO_SLOW)]
    group = [t for t in group if t.val_loss_best is not None and this.val_loss_best is not None
             and t.val_loss_best < this.val_loss_best]
    if len(group) < 2:
        return None
    notes = _compare(this, group, {"units": "more", "n_layers": "more", "l2": "less",
                                   "l1": "less", "dropout": "less", "epochs": "more"})
    activation = this.knobs.get("activation")
    choices = [t.knobs.get("activation") for t in group if t.knobs.get("activation")]
    if isinstance(activation, str) and choices:
        common = max(set(choices), key=choices.count)
        if common != activation and choices.count(common) > len(choices) / 2:
            notes.append(f"activation {common} (this one {activation})")
    if not notes:
        return None
    return (f"{_the(len(group), 'trial')} that fit better used (median) " + ", ".join(notes)
            + ": give the model more capacity or less regularization.")


def _healthy(this: TrialFacts, others: Sequence[TrialFacts]) -> str | None:
    ranked = [t for t in [*others, this] if t.val_loss_best is not None]
    if this.val_loss_best is None or len(ranked) < 2:
        return None
    rank = 1 + sum((t.val_loss_best or 0.0) < this.val_loss_best for t in ranked)
    return (f"Nothing to fix in the curve; its best validation loss {_g(this.val_loss_best)} "
            f"ranks {rank} of {len(ranked)} in the study.")


def advice_from_study(this: TrialFacts, others: Sequence[TrialFacts],
                 evidence: Mapping[str, float]) -> str:
    """Return the next step drawn from the other trials, or the generic one."""
    others = [t for t in others if t.number != this.number]
    advice: str | None = None
    if this.pathology in _BAD:
        peers, scope = _same_optimizer(this, others)
        for pool, words in ((peers, scope), (others, "")):
            for name, safer in (("learning_rate", "lower"), ("batch_size", "higher"),
                                ("momentum", "lower")):
                advice = advice or _cap_rule(this, pool, name, safer, words)
        advice = advice or _choice_rule(this, others, "optimizer") or _choice_rule(
            this, others, "init")
    elif this.pathology is Pathology.TOO_SLOW:
        advice = _too_slow(this, others)
    elif this.pathology is Pathology.OVERFITTING:
        advice = _overfitting(this, others, evidence)
    elif this.pathology is Pathology.UNDERFITTING:
        advice = _underfitting(this, others)
    else:
        advice = _healthy(this, others)
    return generic_advice(this.pathology, evidence, this) if advice is None else advice
