"""The interpolation the environment comparison computes Compose's side with."""

import pytest

from .compose_interpolation import InterpolationError, interpolate, read_dotenv

VARIABLES = {"SET": "value", "EMPTY": "", "PORT": "8001"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("$SET/${SET}", "value/value"),
        ("${UNSET}", ""),
        ("${EMPTY:-default}|${EMPTY-default}|${UNSET-default}", "default||default"),
        ("${SET:-default}", "value"),
        ("http://127.0.0.1:${RS_PORT:-${PORT:-8000}}/", "http://127.0.0.1:8001/"),
        ("${UNSET:-${ALSO_UNSET:-inner}}", "inner"),
        ("${SET:?must be set}", "value"),
        ("${EMPTY?may be empty}", ""),
        ("${SET:-${UNSET:?not needed when SET is set}}", "value"),
        ("${SET:+other}|${EMPTY:+other}|${EMPTY+other}|${UNSET+other}", "other||other|"),
        ("$$SET and $${SET}", "$SET and ${SET}"),
        ("redis://:${SET:?x}@redis:6379/0", "redis://:value@redis:6379/0"),
    ],
)
def test_interpolation(text, expected):
    assert interpolate(text, VARIABLES) == expected


@pytest.mark.parametrize("text", ["${UNSET:?set UNSET in .env}", "${EMPTY:?x}", "${UNSET?x}", "${SET", "${1BAD}"])
def test_refused(text):
    with pytest.raises(InterpolationError):
        interpolate(text, VARIABLES)


def test_dotenv():
    text = 'A=1\n# comment\n\nB="read write notes"\nC=x # trailing\nD=\'$A\'\nE=${A}2\nF="a#b"\n'
    assert read_dotenv(text) == {"A": "1", "B": "read write notes", "C": "x", "D": "$A", "E": "12", "F": "a#b"}
