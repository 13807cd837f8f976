"""``nn.tune(..., warm_start=[...])``: what a new data set takes from studies of others.

Three things, each shown to the user: the earlier studies' best configurations that beat their
rules of thumb are tried first, each trained in full (after moving each knob to the same
position in the new data's ranges); the search space's priors are refitted to where their
optima lay (replacing the rules of thumb; TPE weighs them by how well they rank the new
trials); and a GP sampler (``gp`` / ``auto``) gets them as transfer sources, an RGPE ensemble
whose weights follow how well each study ranks the new trials (``samplers/gp/_rgpe.py``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hyperknob._checks import invalid
from hyperknob.distributions import BaseDistribution
from hyperknob.transfer import (
    FittedPrior,
    Queued,
    Source,
    fitted_priors,
    load_sources,
    queued_configurations,
)

if TYPE_CHECKING:
    from hyperknob.nn._space import SearchSpace
    from hyperknob.storages import BaseStorage
    from hyperknob.study import Study

#: The most hidden layers a space has (units_l0 .. units_l4 feed the ``units`` knob).
MAX_LAYERS = 5


@dataclasses.dataclass(frozen=True)
class WarmStart:
    """What a warm start takes from earlier studies, and the space it leaves."""

    sources: tuple[Source, ...]
    queued: tuple[Queued, ...]
    priors: dict[str, FittedPrior]
    space: SearchSpace

    def lines(self, *, queued: bool = True) -> list[str]:
        """Return what to tell the user: each source, each queued trial (unless ``queued``
        is False: a resumed study queued them when it began), each prior."""
        names = ", ".join(f"{s.name!r} ({len(s.trials)} trials"
                          + (f" on {s.dataset}" if s.dataset else "") + ")"
                          for s in self.sources)
        lines = [f"Warm start from {names}."]
        if self.queued and queued:
            lines.append("  First (each trained in full): "
                         + "; ".join(q.describe() for q in self.queued) + ".")
        if self.priors:
            lines.append("  Priors: " + "; ".join(p.describe() for p in self.priors.values())
                         + ".")
        return lines

    def record(self) -> dict[str, Any]:
        """Return the JSON the study keeps (``user_attrs["warm_start"]``)."""
        return {"sources": [s.name for s in self.sources],
                "queued": [{"source": q.source, "trial": q.trial_number, "params": q.params}
                           for q in self.queued],
                "priors": {name: {"center": p.prior.center, "confidence": p.prior.confidence,
                                  "trials": p.n_points, "sources": list(p.sources)}
                           for name, p in self.priors.items()}}


def param_distributions(space: SearchSpace) -> dict[str, BaseDistribution]:
    """Return the distribution of every trial parameter ``space`` suggests (``units_lK`` for
    each layer the ``units`` knob sizes)."""
    searched = space.searched()
    out = {name: dist for name, dist in searched.items() if name != "units"}
    if "units" in searched:
        out.update({f"units_l{k}": searched["units"] for k in range(MAX_LAYERS)})
    return out


def warm_start(sources: Sequence[str | Study], storage: str | BaseStorage,
               space: SearchSpace) -> WarmStart:
    """Return the warm start the named studies of ``storage`` (or studies) give ``space``."""
    from hyperknob.exceptions import StudyNotFoundError

    names = [s for s in sources if isinstance(s, str)]
    try:
        loaded = load_sources(names, storage) if names else []
    except (StudyNotFoundError, ValueError) as error:
        raise type(error)(f"warm_start: {error}") from error
    studies = [Source.from_study(s) for s in sources if not isinstance(s, str)]
    found = tuple(loaded + studies)
    distributions = param_distributions(space)
    for source in found:
        if not source.trials:
            raise ValueError(f"warm_start: study {source.name!r} has no COMPLETE trial to "
                             "learn from")
        if not any(name in distributions for t in source.trials for name in t.params):
            raise ValueError(f"warm_start: study {source.name!r} shares no hyperparameter with "
                             f"this search space ({', '.join(sorted(space.searched()))}): "
                             "expected a study made by nn.tune or hyperknob tune")
    feeds = {"units": [f"units_l{k}" for k in range(MAX_LAYERS)]}
    # The rules of thumb run anyway: the queue adds what they miss.
    queued = queued_configurations(found, distributions, already=space.rule_of_thumb_params())
    priors = fitted_priors(found, space.searched(), feeds=feeds)
    changes = {name: dataclasses.replace(space.searched()[name],  # type: ignore[type-var]
                                         prior=fit.prior)
               for name, fit in priors.items()}
    return WarmStart(found, tuple(queued), priors, space.replace(**changes))


def warm_names(warm_start: str | Sequence[str | Study] | None,
               target: str) -> list[str | Study]:
    """Return the earlier studies: "a,b" is split at its commas. Raise ValueError for
    anything but study names or studies, and for the study being tuned itself."""
    from hyperknob.study import Study

    if warm_start is None:
        return []
    if isinstance(warm_start, str):
        names: list[str | Study] = [n.strip() for n in warm_start.split(",") if n.strip()]
    elif isinstance(warm_start, Sequence):
        names = list(warm_start)
    else:
        raise invalid("warm_start", warm_start, "study names (a list or 'a,b') or studies")
    for item in names:
        if not isinstance(item, (str, Study)) or (isinstance(item, str) and not item.strip()):
            raise invalid("warm_start", warm_start, "study names (a list or 'a,b') or studies")
        name = item if isinstance(item, str) else item.study_name
        if name == target:
            raise ValueError(f"warm_start: {name!r} is the study being tuned; name earlier "
                             "studies of other data sets")
    return names


def check_warm_storage(names: Sequence[str | Study], storage: object) -> None:
    """Raise ValueError for studies named in a SQLite file that does not exist (opening it
    would make an empty one)."""
    if not isinstance(storage, str) or not any(isinstance(n, str) for n in names):
        return
    from hyperknob._urls import sqlite_path

    path = sqlite_path(storage)
    if path is not None and not os.path.exists(path):
        shown = ", ".join(repr(n) for n in names if isinstance(n, str))
        raise ValueError(f"warm_start: no study {shown} to learn from: the SQLite file "
                         f"{path!r} does not exist")
