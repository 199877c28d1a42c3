"""Compose's variable interpolation and .env reading, enough for compose.yaml's environment maps.

https://docs.docker.com/reference/compose-file/interpolation/: ``$NAME``, ``${NAME}``,
``${NAME:-default}`` (unset or empty), ``${NAME-default}`` (unset), ``${NAME:?error}``,
``${NAME?error}``, ``${NAME:+other}``, ``${NAME+other}``, defaults that interpolate in
turn, and ``$$`` for a literal dollar sign. Only the .env given is read, never the
process environment, so that the comparison depends on nothing but that file.
"""

import re

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class InterpolationError(ValueError):
    """A ``:?``/``?`` variable missing, or a malformed ``${``."""


def interpolate(text: str, variables: dict[str, str]) -> str:
    value, end = expand(text, 0, variables, closing=False)
    assert end == len(text)
    return value


def expand(text: str, start: int, variables: dict[str, str], closing: bool, needed: bool = True) -> tuple[str, int]:
    """The text from ``start`` expanded, up to its end or (``closing``) the ``}`` that ends a default.

    A default that is not ``needed`` (its variable is set) is only read past: its ``?`` raises nothing.
    """
    out = []
    index = start
    while index < len(text):
        char = text[index]
        if closing and char == "}":
            return "".join(out), index
        if char != "$":
            out.append(char)
            index += 1
            continue
        following = text[index + 1 : index + 2]
        if following == "$":
            out.append("$")
            index += 2
        elif following == "{":
            value, index = braced(text, index + 2, variables, needed)
            out.append(value)
        elif name := NAME.match(text, index + 1):
            out.append(variables.get(name.group(), ""))
            index = name.end()
        else:
            out.append("$")
            index += 1
    if closing:
        raise InterpolationError(f"unterminated ${{ in {text!r}")
    return "".join(out), index


def braced(text: str, start: int, variables: dict[str, str], needed: bool = True) -> tuple[str, int]:
    """``${...}`` whose name starts at ``start``: its value and the index after its ``}``."""
    name = NAME.match(text, start)
    if not name:
        raise InterpolationError(f"bad variable name at {text[start:]!r}")
    index = name.end()
    value = variables.get(name.group())
    if text[index : index + 1] == "}":
        return value or "", index + 1
    operator = next((op for op in (":-", ":?", ":+", "-", "?", "+") if text.startswith(op, index)), None)
    if operator is None:
        raise InterpolationError(f"bad modifier in {text[start - 2 :]!r}")
    missing = value is None or (operator.startswith(":") and value == "")
    uses_argument = missing != operator.endswith("+")
    argument, end = expand(text, index + len(operator), variables, closing=True, needed=needed and uses_argument)
    if operator.endswith("-"):
        result = argument if missing else value or ""
    elif operator.endswith("?"):
        if missing and needed:
            raise InterpolationError(f"{name.group()}: {argument}")
        result = value or ""
    else:
        result = "" if missing else argument
    return result, end + 1


def read_dotenv(text: str) -> dict[str, str]:
    """A .env file as Compose reads it: NAME=value lines, quotes removed, comments and blank lines skipped.

    Unquoted and double-quoted values are interpolated with the variables above them, as Compose does.
    """
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ")
        name, _, value = line.partition("=")
        name, value = name.strip(), value.strip()
        if value[:1] == "'" and value.endswith("'") and len(value) > 1:
            values[name] = value[1:-1]
            continue
        if value[:1] == '"' and value.endswith('"') and len(value) > 1:
            value = value[1:-1].replace('\\"', '"').replace("\\n", "\n")
        else:
            value = re.sub(r"\s+#.*$", "", value)
        values[name] = interpolate(value, values)
    return values
