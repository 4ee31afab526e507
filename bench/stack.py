"""What the benchmarks share to stand the store up: free ports, psql, a database of their own."""

import importlib
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def needs(module: str):
    """Import a bench-only library, or exit with one line saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        sys.exit(f"{Path(sys.argv[0]).name} needs {module}: install the bench requirements with "
                 "`bin/venv --bench` (requirements-bench.txt) and run it with .venv/bin/python")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def psql(sql: str, db: str = "postgres") -> str:
    return subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-Atqc", sql],
                          capture_output=True, text=True, check=True, timeout=60).stdout.strip()


def prepare_database(env: dict, name: str, fresh: bool, *, then: tuple[list[str], ...] = ()) -> None:
    """Create and migrate on first use (or drop first), empty it, then run the `then` manage.py
    commands, so every run starts alike. Exits naming the command that failed."""
    if fresh:
        psql(f'drop database if exists "{name}" with (force)')
    if psql(f"select 1 from pg_database where datname='{name}'") != "1":
        psql(f'create database "{name}"')
    for command in (["migrate", "--noinput"], ["flush", "--noinput"], *then):
        done = subprocess.run([sys.executable, "manage.py", *command, "-v0"], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=600)
        if done.returncode:
            sys.exit(f"manage.py {command[0]} failed (try --fresh-db):\n{done.stdout}{done.stderr}")


def django_on_own_database(name: str) -> None:
    """Set Django up in this process on database `name` (created on first use), migrated. The
    caller has put the rest of its settings in os.environ already."""
    if psql(f"select 1 from pg_database where datname='{name}'") != "1":
        psql(f'create database "{name}"')
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
