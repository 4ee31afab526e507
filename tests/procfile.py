"""The Procfile, read as the platform reads it: process types and their commands."""

import re
from pathlib import Path

PROCFILE = Path(__file__).resolve().parents[1] / "Procfile"


def procfile_commands() -> dict[str, str]:
    lines = PROCFILE.read_text().splitlines()
    return {name.strip(): command.strip() for name, command in (line.split(":", 1) for line in lines if line.strip())}


def procfile_variables() -> set[str]:
    """The environment variables the commands expand ($PORT, ${WEB_CONCURRENCY:-2}, …)."""
    return {name for command in procfile_commands().values() for name in re.findall(r"\$\{?([A-Z_][A-Z0-9_]*)", command)}


def celery_process_types(program: str) -> list[str]:
    """The process types that run `celery … <program>` (worker or beat), in the Procfile's order."""
    return [name for name, command in procfile_commands().items()
            if re.search(rf"\bcelery\b.*\s{program}\b", command)]
