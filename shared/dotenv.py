"""Write ``.env`` from ``.env.example`` with freshly generated secrets.

Standard library only: ``make env`` runs it before any virtual environment exists.
An existing ``.env`` is never overwritten, and a symlink is never written through.

    python3 -m shared.dotenv [.env.example] [.env]
"""

import os
import secrets
import sys
import tempfile
from pathlib import Path

# Each secret the template leaves empty, and how to generate it.
GENERATED = {
    "AS_SECRET_KEY": lambda: secrets.token_urlsafe(50),
    "RS_SECRET_KEY": lambda: secrets.token_urlsafe(50),
    "TEAM_RS_SECRET_KEY": lambda: secrets.token_urlsafe(50),
    "OAUTH_RS_CLIENT_SECRET": lambda: secrets.token_urlsafe(48),
    "OAUTH_RS_TEAM_CLIENT_SECRET": lambda: secrets.token_urlsafe(48),
    "OAUTH_RS_INTROSPECTION_TOKEN": lambda: secrets.token_urlsafe(32),
    "DEMO_PASSWORD": lambda: secrets.token_urlsafe(12),
    "DEMO_CLIENT_SECRET": lambda: secrets.token_urlsafe(48),
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


def render(template: str) -> str:
    values: dict[str, str] = {}
    lines = []
    for line in template.splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            if not value and name in GENERATED:
                value = GENERATED[name]()
            if not value and name in CREDENTIALS:
                client_id, client_secret = (values[client] for client in CREDENTIALS[name])
                value = f"{client_id}:{client_secret}"
            values[name] = value
            line = f"{name}={value}"
        lines.append(line)
    return "\n".join(lines) + "\n"


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


def main(template_path: str = ".env.example", target_path: str = ".env") -> int:
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


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
