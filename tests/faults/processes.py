"""The processes a fault test starts, breaks and stops itself.

Each runs in a session of its own (its pid is its process group), logging to a file, so stopping
one stops exactly it and whatever it forked (a Celery worker's pool) and nothing else.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

from tests.procfile import celery_process_types, procfile_commands

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


class Proc:
    """One command in its own process group; `ready` tells when it serves."""

    def __init__(self, name: str, command: list[str], *, env: dict, log_path: Path,
                 ready: Callable[[Proc], bool], app_name: str = ""):
        self.name, self.command, self.env, self.log_path = name, command, env, log_path
        self.ready, self.app_name = ready, app_name
        self.process: subprocess.Popen | None = None
        self.ended_by_test = False

    def start(self) -> Proc:
        # If pytest itself is killed (no teardown), the kernel sends the process SIGTERM.
        setpriv = shutil.which("setpriv")
        command = [setpriv, "--pdeathsig", "TERM", "--", *self.command] if setpriv else self.command
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, cwd=REPO, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        return self

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_ready(self, timeout: float) -> None:
        if not wait_until(lambda: not self.running or self.ready(self), timeout, interval=0.2):
            raise AssertionError(f"{self.name} not ready within {timeout}s:\n{self.log_tail()}")
        if not self.running:
            raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")

    @property
    def exited_on_its_own(self) -> bool:
        return self.process is not None and not self.ended_by_test and self.process.poll() is not None

    def last_words(self) -> str:
        """Its last CRITICAL line (else ERROR line, else last line), to say what went wrong."""
        lines = self.log_text().splitlines()
        for level in ("CRITICAL", "ERROR"):
            found = [line for line in lines if level in line]
            if found:
                return found[-1][:300]
        return lines[-1][:300] if lines else ""

    def kill(self) -> None:
        """SIGKILL it and everything it forked, as a crash would: nothing gets to clean up."""
        self.ended_by_test = True
        self._signal_group(signal.SIGKILL)
        with suppress(subprocess.TimeoutExpired, AttributeError):
            self.process.wait(10)

    def stop(self, grace: float = 10) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.ended_by_test = True
            self._signal_group(signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(grace)
        self.kill()  # whatever is left of its group: pool children, or it ignored SIGTERM

    def _signal_group(self, sig: int) -> None:
        if self.process is None:
            return
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, sig)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, chars: int = 6000) -> str:
        return self.log_text()[-chars:]


class Processes:
    """Every process a test started, stopped (newest first) when the test ends, however it ends."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        log_dir.mkdir(parents=True, exist_ok=True)
        self.all: list[Proc] = []

    def spawn(self, name: str, command: list[str], *, env: dict, ready: Callable[[Proc], bool],
              app_name: str = "") -> Proc:
        proc = Proc(name, command, env=env, log_path=self.log_dir / f"{name}.log", ready=ready,
                    app_name=app_name)
        self.all.append(proc)
        return proc.start()

    def stop_all(self) -> None:
        for proc in reversed(self.all):
            proc.stop()

    def status(self) -> str:
        """Each process: running, ended by the test, or exited on its own; and its last complaint."""
        return "\n".join(f"  {p.name}: {_state(p)}; last complaint: {p.last_words()}" for p in self.all)

    def logs(self, chars: int = 5000) -> str:
        return "\n".join(f"===== {p.name} (pid {p.process.pid if p.process else '-'}, exit "
                         f"{p.process.returncode if p.process else '-'}; {p.log_path}) =====\n"
                         f"{p.log_tail(chars)}" for p in self.all)


def _state(proc: Proc) -> str:
    if proc.running:
        return "running"
    if proc.exited_on_its_own:
        return f"EXITED ON ITS OWN with {proc.process.returncode}"
    return "ended by the test"


def log_contains(text: str) -> Callable[[Proc], bool]:
    return lambda proc: text in proc.log_text()


def http_answers(url: str) -> Callable[[Proc], bool]:
    def probe(proc: Proc) -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except urllib.error.HTTPError:
            return True  # it answers
        except OSError:
            return False

    return probe


class PrivateRedis:
    """A redis-server of the test's own on a free port, which it can kill and start again there.

    No persistence: a restarted server is empty, as after losing its host."""

    def __init__(self, processes: Processes):
        self.processes = processes
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: Proc | None = None
        self.starts = 0

    def start(self, timeout: float = 15) -> None:
        self.starts += 1
        redis_server = shutil.which("redis-server") or "/usr/bin/redis-server"
        command = [redis_server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "no", "--daemonize", "no"]
        self.proc = self.processes.spawn(f"redis-{self.starts}", command, env=dict(os.environ),
                                         ready=lambda proc: self.ping())
        self.proc.wait_ready(timeout)

    def kill(self) -> None:
        self.proc.kill()
        assert not self.ping(), "redis still answers after SIGKILL"

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


class AppStack:
    """The app's own processes (Procfile commands) on the test database, a private Redis and the
    Stripe fake. Each process has its own PostgreSQL application_name (`app_name(role)`), so
    a test can find its backends in pg_stat_activity."""

    def __init__(self, processes: Processes, *, redis_url: str, stripe_url: str, database_url: str,
                 state_dir: Path, sweep_seconds: int = 2):
        self.processes, self.redis_url, self.stripe_url = processes, redis_url, stripe_url
        self.database_url, self.state_dir, self.sweep_seconds = database_url, state_dir, sweep_seconds
        self.tag = uuid.uuid4().hex[:8]
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers: list[Proc] = []
        self.extra_env: dict[str, str] = {}  # what a test adds to every app process's environment

    def app_name(self, role: str) -> str:
        return f"faults-{self.tag}-{role}"

    def env(self, role: str) -> dict:
        separator = "&" if "?" in self.database_url else "?"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "swagstore.settings.test",
            "DATABASE_URL": f"{self.database_url}{separator}application_name={self.app_name(role)}",
            "REDIS_URL": self.redis_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "CELERY_QUEUE": self.queue(),
            "CHANNEL_PREFIX": f"faults-{self.tag}",
            "STRIPE_SECRET_KEY": "sk_test_fake",
            "STRIPE_API_BASE": self.stripe_url,
            "STRIPE_TIMEOUT_SECONDS": "2",
            "DURABLE_SWEEP_SECONDS": str(self.sweep_seconds),
            # swagstore.settings.test makes in-process retries immediate and parks them for an hour;
            # these processes back off as in production, only capped low enough for a test.
            "STRIPE_RETRY_BASE_SECONDS": "1",
            "STRIPE_RETRY_MAX_SECONDS": "8",
            "SITE_URL": self.url,
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        return {**env, **self.extra_env}

    def launch_web(self) -> Proc:
        """The Procfile's web command: daphne --proxy-headers -b … -p $PORT swagstore.asgi:application."""
        daphne = Path(sys.executable).with_name("daphne")
        command = [str(daphne) if daphne.exists() else "daphne", "--proxy-headers", "-b", "127.0.0.1",
                   "-p", str(self.port), "swagstore.asgi:application"]
        return self.processes.spawn("web", command, env=self.env("web"), ready=http_answers(self.url + "/"),
                                    app_name=self.app_name("web"))

    def queue(self, role: str = "") -> str:
        """A queue's name as the app derives it from CELERY_QUEUE ("": the plain one, for the sweeps)."""
        return f"faults-{self.tag}" + (f"-{role}" if role else "")

    def launch_worker(self, queues: tuple[str, ...] | None = None) -> Proc:
        """A Procfile worker command, named apart, without chatter between workers: `queues` are
        roles ("sales", "stripe", "notify", "" for the plain queue); None takes every queue."""
        role = f"worker{len(self.workers) + 1}"
        command = [sys.executable, "-m", "celery", "-A", "swagstore", "worker", "--loglevel=info",
                   "--concurrency=2", "-n", f"{self.app_name(role)}@%h", "--without-gossip", "--without-mingle",
                   "--without-heartbeat"]
        if queues is not None:
            command += ["-Q", ",".join(self.queue(q) for q in queues)]
        worker = self.processes.spawn(role, command, env=self.env(role), ready=log_contains(" ready."),
                                      app_name=self.app_name(role))
        self.workers.append(worker)
        return worker

    def launch_beat(self) -> Proc:
        """The Procfile's beat command, its schedule file in the test's own directory."""
        command = [sys.executable, "-m", "celery", "-A", "swagstore", "beat", "--loglevel=info",
                   "--schedule", str(self.state_dir / f"beat-schedule-{self.tag}")]
        return self.processes.spawn("beat", command, env=self.env("beat"), ready=log_contains("beat: Starting"),
                                    app_name=self.app_name("beat"))

    def start(self, *, web: bool = True, workers: int = 1, beat: bool = True, timeout: float = 60) -> None:
        """Launch them side by side (two cores: Django takes seconds to load), then wait for each."""
        launched = ([self.launch_web()] if web else []) + [self.launch_worker() for _ in range(workers)]
        launched += [self.launch_beat()] if beat else []
        for proc in launched:
            proc.wait_ready(timeout)

    def start_worker(self, timeout: float = 60, queues: tuple[str, ...] | None = None) -> Proc:
        worker = self.launch_worker(queues)
        worker.wait_ready(timeout)
        return worker

    # ---- the Procfile's own commands, as the platform runs them

    def procfile_env(self, role: str, **extra: str) -> dict:
        """The role's environment with this venv's programs (gunicorn, celery, python) first on PATH."""
        path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
        return {**self.env(role), "PATH": path, **extra}

    def run_release(self, timeout: float = 300, **extra: str) -> subprocess.CompletedProcess:
        """The Procfile's release step, to its end, as the platform runs it before starting a release."""
        return subprocess.run(["bash", "-c", procfile_commands()["release"]], cwd=REPO, capture_output=True,
                              text=True, timeout=timeout, env=self.procfile_env("release", **extra))

    def launch_procfile(self, process_type: str, *, role: str, port: int | None = None, **extra: str) -> Proc:
        """One process of a Procfile type through a shell, which expands $PORT, ${WEB_CONCURRENCY:-2}, ….
        A Celery worker gets a name of its own and beat a schedule file in the test's directory."""
        command = procfile_commands()[process_type]
        worker = process_type in celery_process_types("worker")
        if worker:
            command += f" -n {self.app_name(role)}@%h"
            ready = log_contains(" ready.")
        elif process_type in celery_process_types("beat"):
            command += f" --schedule {self.state_dir / f'beat-schedule-{self.tag}-{role}'}"
            ready = log_contains("beat: Starting")
        else:
            ready = http_answers(f"http://127.0.0.1:{port}/healthz")
        env = self.procfile_env(role, **({"PORT": str(port)} if port else {}), **extra)
        proc = self.processes.spawn(role, ["bash", "-c", command], env=env, ready=ready, app_name=self.app_name(role))
        if worker:
            self.workers.append(proc)
        return proc
