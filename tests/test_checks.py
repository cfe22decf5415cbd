"""The argument checks every layer uses: the message names the argument and what it allows."""

import math

import numpy as np
import pytest

from lrwidgets.core.checks import (
    check_beta,
    check_choice,
    check_int,
    check_number,
    check_open_unit,
    check_positive,
)


def test_good_values_come_back_as_python_numbers():
    assert check_number("x", np.float32(0.5)) == 0.5
    assert type(check_number("x", 3)) is float
    assert check_positive("lr", 1e-7) == 1e-7
    assert check_int("n", np.int64(4), minimum=1) == 4
    assert type(check_int("n", np.int64(4), minimum=1)) is int
    assert check_choice("mode", "exp", ("exp", "linear")) == "exp"
    assert check_beta("beta", 0.0) == 0.0
    assert check_open_unit("pct_start", 0.3) == 0.3


@pytest.mark.parametrize(
    ("check", "value", "error", "match"),
    [
        (check_number, "1", TypeError, "x must be a number, got str"),
        (check_number, True, TypeError, "x must be a number, got bool"),
        (check_number, None, TypeError, "x must be a number"),
        (check_positive, 0.0, ValueError, r"x must be a finite number > 0, got 0\.0"),
        (check_positive, -2, ValueError, "x must be a finite number > 0"),
        (check_positive, math.inf, ValueError, "x must be a finite number > 0"),
        (check_positive, math.nan, ValueError, "x must be a finite number > 0"),
        (check_beta, 1.0, ValueError, r"x must be in \[0, 1\)"),
        (check_beta, -0.01, ValueError, r"x must be in \[0, 1\)"),
        (check_beta, math.nan, ValueError, r"x must be in \[0, 1\)"),
        (check_open_unit, 0.0, ValueError, r"x must be in \(0, 1\)"),
        (check_open_unit, 1.0, ValueError, r"x must be in \(0, 1\)"),
    ],
)
def test_bad_numbers(check, value, error, match):
    with pytest.raises(error, match=match):
        check("x", value)


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (2.0, TypeError, "n must be an integer, got float"),
        (False, TypeError, "n must be an integer, got bool"),
        (0, ValueError, "n must be an integer >= 1, got 0"),
    ],
)
def test_bad_integers(value, error, match):
    with pytest.raises(error, match=match):
        check_int("n", value, minimum=1)


def test_bad_choice_lists_the_choices():
    with pytest.raises(ValueError, match="mode must be one of 'exp', 'linear', got 'log'"):
        check_choice("mode", "log", ["exp", "linear"])
