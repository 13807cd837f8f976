"""The one argument-checking module: what it accepts, and errors that name the argument, the
value received and what was expected."""

from __future__ import annotations

import math

import numpy as np
import pytest

import hyperknob
from hyperknob._checks import check_bool, check_choice, check_int, check_number
from hyperknob.exceptions import InvalidArgumentError


def test_check_int_accepts_ints_in_range_and_names_what_it_refuses() -> None:
    assert check_int("n", 3, least=1) == 3 and type(check_int("n", np.int64(3))) is int
    assert check_int("n", None, none_ok=True) is None
    for bad in (True, 2.0, "3", None, 0):
        with pytest.raises(InvalidArgumentError) as raised:
            check_int("n_trials", bad, least=1)
        assert str(raised.value) == f"n_trials must be an int >= 1, got n_trials={bad!r}"
    with pytest.raises(ValueError, match=r"jobs must be an int >= 1, or -1 for one per CPU"):
        check_int("jobs", 0, least=1, also=", or -1 for one per CPU")
    with pytest.raises(TypeError, match=r"must be an int >= 0 and <= 9 or None, got k=10"):
        check_int("k", 10, least=0, most=9, none_ok=True)


def test_check_number_bounds_and_finiteness() -> None:
    assert check_number("lr", 1, above=0.0) == 1.0
    assert check_number("t", None, above=0, none_ok=True) is None
    with pytest.raises(InvalidArgumentError,
                       match=r"^timeout must be a number of seconds > 0 or None, got timeout=0$"):
        check_number("timeout", 0, above=0, none_ok=True, unit="seconds")
    for bad in (math.nan, math.inf, True, "1", 1.0):
        with pytest.raises(InvalidArgumentError, match="dropout must be a finite number >= 0 "
                                                       "and < 1"):
            check_number("dropout", bad, least=0, below=1)


def test_check_choice_and_bool() -> None:
    assert check_choice("optimizer", "adam", ("sgd", "adam")) == "adam"
    with pytest.raises(InvalidArgumentError,
                       match=r"optimizer must be one of \['sgd', 'adam'\], got optimizer='Adam'"):
        check_choice("optimizer", "Adam", ("sgd", "adam"))
    with pytest.raises(InvalidArgumentError):
        check_choice("level", True, (1, 2))  # True == 1, but it is not the choice 1
    assert check_bool("log", False) is False
    with pytest.raises(InvalidArgumentError, match="log must be True or False, got log=1"):
        check_bool("log", 1)


def test_the_public_api_reports_through_it() -> None:
    study = hyperknob.create_study()
    with pytest.raises(InvalidArgumentError, match="n_trials must be an int >= 0 or None, "
                                                   "got n_trials=-1"):
        study.optimize(lambda t: 0.0, n_trials=-1)
    with pytest.raises(InvalidArgumentError, match="min_resource must be an int >= 1"):
        hyperknob.pruners.SuccessiveHalvingPruner(min_resource=0)
    with pytest.raises(InvalidArgumentError, match="seed must be an int >= 0"):
        hyperknob.samplers.RandomSampler(seed=-1)
    assert study.trials == []
