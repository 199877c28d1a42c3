"""Write ``.env`` from ``.env.example`` with freshly generated secrets.

Standard library only: ``make env`` runs it before any virtual environment exists.
An existing ``.env`` is never overwritten, and a symlink is never written through.
The OpenID Connect signing key is an RSA key made by the ``openssl`` command (the
standard library cannot make one), stored PEM then base64 on one line: a
multi-line value does not survive Compose's or kustomize's env files.

    python3 -m shared.dotenv [.env.example] [.env]
    python3 -m shared.dotenv --update [.env.example] [.env]        # make env: write it, or add what the template gained
    python3 -m shared.dotenv --add-missing [.env.example] [.env]   # variables the template gained, empty secrets
    python3 -m shared.dotenv --rotate-oidc-key [.env]              # see docs/openid-connect.md
"""

import base64
import contextlib
import fcntl
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

OPENSSL_RSA_KEY = ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
SIGNING_KEY = "OIDC_RSA_PRIVATE_KEY"
INACTIVE_SIGNING_KEYS = "OIDC_RSA_PRIVATE_KEYS_INACTIVE"


class OpenSSLMissing(RuntimeError):
    pass


def rsa_private_key() -> str:
    """A new 2048-bit RSA private key: PEM, base64-encoded on one line."""
    try:
        # A fixed command line, found on PATH as make env's own python3 is (S603).
        made = subprocess.run(OPENSSL_RSA_KEY, capture_output=True, check=True, timeout=60)  # noqa: S603
    except FileNotFoundError:
        raise OpenSSLMissing(
            f"the openssl command is needed to generate {SIGNING_KEY} (the ID token signing key): install it"
            " (e.g. apt-get install openssl) and run this again."
        ) from None
    except subprocess.CalledProcessError as error:
        raise OpenSSLMissing(f"openssl could not generate {SIGNING_KEY}: {error.stderr.decode().strip()}") from None
    return base64.b64encode(made.stdout).decode("ascii")


# Each secret the template leaves empty, and how to generate it.
GENERATED = {
    "AS_SECRET_KEY": lambda: secrets.token_urlsafe(50),
    "RS_SECRET_KEY": lambda: secrets.token_urlsafe(50),
    "TEAM_RS_SECRET_KEY": lambda: secrets.token_urlsafe(50),
    "OAUTH_RS_CLIENT_SECRET": lambda: secrets.token_urlsafe(48),
    "OAUTH_RS_TEAM_CLIENT_SECRET": lambda: secrets.token_urlsafe(48),
    "OAUTH_RS_INTROSPECTION_TOKEN": lambda: secrets.token_urlsafe(32),
    SIGNING_KEY: rsa_private_key,
    "DEMO_PASSWORD": lambda: secrets.token_urlsafe(12),
    "DEMO_CLIENT_SECRET": lambda: secrets.token_urlsafe(48),
    "DEMO_WEB_CLIENT_SECRET": lambda: secrets.token_urlsafe(48),
    "POSTGRES_PASSWORD": lambda: secrets.token_urlsafe(24),
    "AS_DB_PASSWORD": lambda: secrets.token_urlsafe(24),
    "RS_DB_PASSWORD": lambda: secrets.token_urlsafe(24),
    "TEAM_RS_DB_PASSWORD": lambda: secrets.token_urlsafe(24),
    "REDIS_PASSWORD": lambda: secrets.token_urlsafe(24),
}
# Each API authenticates to the AS as the client the seed registers for it.
CREDENTIALS = {
    "RESOURCE_SERVER_INTROSPECTION_CREDENTIALS": ("OAUTH_RS_CLIENT_ID", "OAUTH_RS_CLIENT_SECRET"),
    "TEAM_RESOURCE_SERVER_INTROSPECTION_CREDENTIALS": ("OAUTH_RS_TEAM_CLIENT_ID", "OAUTH_RS_TEAM_CLIENT_SECRET"),
}
# The audience of each API's signed introspection answers (RFC 9701 §5): its client_id,
# which token mode has nowhere else to learn. Written beside the credentials so that
# switching to token mode needs nothing more.
CLIENT_IDS = {
    "RESOURCE_SERVER_CLIENT_ID": ("RESOURCE_SERVER_INTROSPECTION_CREDENTIALS", "OAUTH_RS_CLIENT_ID"),
    "TEAM_RESOURCE_SERVER_CLIENT_ID": ("TEAM_RESOURCE_SERVER_INTROSPECTION_CREDENTIALS", "OAUTH_RS_TEAM_CLIENT_ID"),
}


def own_client_id(name: str, values: dict[str, str]) -> str:
    """The API's client_id: its credentials' (they may name another client than the seeded one), else the seeded one."""
    credentials, seeded = CLIENT_IDS[name]
    return unquoted(values.get(credentials, "")).partition(":")[0] or unquoted(values.get(seeded, ""))


def variable(line: str) -> tuple[str, str] | None:
    """The name and value a line of a .env file sets, or None for a comment or a blank line."""
    name, sep, value = line.partition("=")
    if not sep or line.lstrip().startswith("#"):
        return None
    # ``export NAME=value``, for a shell to source, sets NAME for django-environ's read_env too.
    return name.strip().removeprefix("export "), value


def assigned(line: str, name: str, value: str) -> str:
    """The line of ``line``'s variable ``name`` setting ``value`` instead, ``export`` kept if it had one."""
    export = "export " if line.lstrip().startswith("export ") else ""
    return f"{export}{name}={value}"


def render(template: str, known: dict[str, str] | None = None) -> str:
    """The template with each empty secret generated; with ``known`` (an existing .env's values),
    only the lines of variables it lacks."""
    values = dict(known or {})
    lines = []
    for line in template.splitlines():
        assignment = variable(line)
        if assignment is not None:
            name, value = assignment
            if known is not None and name in known:
                continue
            if not value and name in GENERATED:
                value = GENERATED[name]()
            if not value and name in CREDENTIALS:
                client_id, client_secret = (values.get(client, "") for client in CREDENTIALS[name])
                value = f"{client_id}:{client_secret}" if client_id and client_secret else ""
            if not value and name in CLIENT_IDS:
                value = own_client_id(name, values)
            values[name] = value
            line = f"{name}={value}"
        elif known is not None:
            continue  # comments stay in the template
        lines.append(line)
    return "".join(f"{line}\n" for line in lines)


def existing(target: Path) -> int:
    if target.is_symlink() and not target.exists():
        # Writing through it would create a secrets file wherever it points.
        print(
            f"{target} is a symlink to {os.readlink(target)}, which does not exist; refusing to write secrets"
            " through it (remove the link, or create the file it names).",
            file=sys.stderr,
        )
        return 1
    print(f"{target} exists; leaving it as it is.")
    return 0


def create(template_path: str = ".env.example", target_path: str = ".env") -> int:
    target = Path(target_path)
    if os.path.lexists(target):
        return existing(target)
    content = render(Path(template_path).read_text())
    # Secrets are never readable by others, not even for a moment, and the file
    # appears whole or not at all: a temporary file created 0600 with O_EXCL
    # (mkstemp), then hard-linked into place, which fails instead of replacing
    # or following whatever is already there. Two runs at once: one link wins.
    descriptor, temporary = tempfile.mkstemp(prefix=f"{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(content)
        os.link(temporary, target)
    except FileExistsError:
        return existing(target)
    finally:
        os.unlink(temporary)
    print(f"wrote {target} with generated secrets.")
    return 0


def replace(target: Path, content: str) -> None:
    """Write ``content`` in place of the file ``target`` is (through a symlink), keeping its mode.

    As in ``create``: a temporary file made 0600, then renamed over the file, so
    a reader sees the old file or the new one, never half of one.
    """
    real = target.resolve(strict=True)
    mode = real.stat().st_mode & 0o777
    descriptor, temporary = tempfile.mkstemp(prefix=f"{real.name}.", suffix=".tmp", dir=real.parent)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(content)
        os.chmod(temporary, mode)
        os.replace(temporary, real)
    except BaseException:
        os.unlink(temporary)
        raise


def values_of(text: str) -> dict[str, str]:
    return dict(assignment for assignment in map(variable, text.splitlines()) if assignment is not None)


def fill_empty(text: str) -> tuple[str, list[str]]:
    """``text`` with each generated secret it sets empty filled in, and their names.

    A .env copied from the template (``cp .env.example .env``) has every name, each
    secret empty. An API's empty introspection credentials are filled too when its
    client secret was: they could not have worked, and token mode keeps a client secret.
    So is its client_id, beside the credentials it is taken from.
    """
    lines = text.splitlines()
    names = {}
    for index, assignment in enumerate(map(variable, lines)):
        if assignment is not None and not unquoted(assignment[1]):
            names[assignment[0]] = index
    filled = [name for name in names if name in GENERATED]
    if not filled:
        return text, filled
    for name in filled:
        lines[names[name]] = assigned(lines[names[name]], name, GENERATED[name]())
    values = values_of("\n".join(lines))
    for name, (client_id, client_secret) in CREDENTIALS.items():
        if name in names and client_secret in filled and unquoted(values.get(client_id, "")):
            lines[names[name]] = assigned(
                lines[names[name]], name, f"{unquoted(values[client_id])}:{values[client_secret]}"
            )
            filled.append(name)
    values = values_of("\n".join(lines))
    for name, (credentials, _) in CLIENT_IDS.items():
        if name in names and credentials in filled:
            lines[names[name]] = assigned(lines[names[name]], name, own_client_id(name, values))
            filled.append(name)
    return "".join(f"{line}\n" for line in lines), filled


@contextlib.contextmanager
def locked(target: Path):
    """One upgrade of ``target`` at a time: make run-auth, run-resource and run-team started
    together each run make env. The lock is on the file as it was; ``replace`` puts a new one
    in its place, so a run that waited reads ``target`` again, by its name, once it holds it."""
    with open(target) as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        yield


def add_missing(template_path: str = ".env.example", target_path: str = ".env", fill: bool = True) -> int:
    """Append the variables the template has and ``target`` lacks, generating their secrets, and
    with ``fill`` also fill the secrets ``target`` has empty (an upgrade). Names only are printed."""
    target = Path(target_path)
    with locked(target):
        return upgrade(Path(template_path), target, fill)


def upgrade(template: Path, target: Path, fill: bool) -> int:
    current, filled = fill_empty(target.read_text()) if fill else (target.read_text(), [])
    added = render(template.read_text(), known=values_of(current))
    if not added and not filled:
        print(f"{target} has every variable of {template}; leaving it as it is.")
        return 0
    if added:
        separator = "" if not current or current.endswith("\n") else "\n"
        current = f"{current}{separator}# Added from {template}:\n{added}"
    replace(target, current)
    if filled:
        print(f"filled in {target}: {', '.join(filled)}.")
    if added:
        names = ", ".join(name for name, _ in filter(None, map(variable, added.splitlines())))
        print(f"added to {target}: {names}.")
    return 0


def update(template_path: str = ".env.example", target_path: str = ".env") -> int:
    """``make env``: write ``target`` when there is none, else only add the variables the template
    gained since (an empty value it has stays empty: emptying one may be on purpose)."""
    if not Path(target_path).is_file():  # none yet, or a dangling symlink that create refuses
        return create(template_path, target_path)
    return add_missing(template_path, target_path, fill=False)


def unquoted(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def rotate_oidc_key(target_path: str = ".env") -> int:
    """A new signing key; the current one goes first in the inactive list, so JWKS still has it."""
    target = Path(target_path)
    lines = target.read_text().splitlines()
    found = {assignment[0]: index for index, assignment in enumerate(map(variable, lines)) if assignment is not None}
    if SIGNING_KEY not in found or not unquoted(variable(lines[found[SIGNING_KEY]])[1]):
        print(f"{target} has no {SIGNING_KEY} to rotate; add one with --add-missing.", file=sys.stderr)
        return 1
    current = unquoted(variable(lines[found[SIGNING_KEY]])[1])
    inactive = []
    if INACTIVE_SIGNING_KEYS in found:
        inactive = [key.strip() for key in unquoted(variable(lines[found[INACTIVE_SIGNING_KEYS]])[1]).split(",")]
    keys = ",".join(key for key in [current, *inactive] if key)
    lines[found[SIGNING_KEY]] = assigned(lines[found[SIGNING_KEY]], SIGNING_KEY, rsa_private_key())
    if INACTIVE_SIGNING_KEYS in found:
        lines[found[INACTIVE_SIGNING_KEYS]] = assigned(lines[found[INACTIVE_SIGNING_KEYS]], INACTIVE_SIGNING_KEYS, keys)
    else:
        lines.insert(found[SIGNING_KEY] + 1, f"{INACTIVE_SIGNING_KEYS}={keys}")
    replace(target, "".join(f"{line}\n" for line in lines))
    print(
        f"{target}: a new {SIGNING_KEY}; the previous one is first in {INACTIVE_SIGNING_KEYS}."
        " Restart the authorization server."
    )
    return 0


COMMANDS = {"--update": update, "--add-missing": add_missing, "--rotate-oidc-key": rotate_oidc_key}


def main(*arguments: str) -> int:
    command = COMMANDS.get(arguments[0]) if arguments else None
    try:
        if command is not None:
            return command(*arguments[1:])
        return create(*arguments)
    except OpenSSLMissing as error:
        print(f"shared.dotenv: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
