"""gunicorn's settings file, read from the working directory by the Procfile's web command."""

import os


def child_exit(server, worker):
    # A web worker that exited (restarted, crashed) no longer counts in /metrics' live gauges (open
    # WebSockets); its counters stay, as prometheus-client's multiprocess mode expects.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
