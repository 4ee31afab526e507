"""Run the Stripe fake in the foreground, to poke at it by hand:

    .venv/bin/python -m tests.fakes.stripe --port 12111
    .venv/bin/python -m tests.fakes.stripe --create-latency 300 --jitter 100 --rate-limit 25   # Stripe's pace
    curl -u sk_test_x: localhost:12111/v1/prices -d currency=usd -d unit_amount=500 -d product_data[name]=Tee
"""

import argparse
import threading

from .pacing import pace
from .server import StripeFake


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Run the Stripe fake in the foreground.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--create-latency", type=float, default=0, metavar="MS", help="each POST takes this long")
    parser.add_argument("--read-latency", type=float, default=0, metavar="MS", help="each GET takes this long")
    parser.add_argument("--jitter", type=float, default=0, metavar="MS", help="± this much, uniformly")
    parser.add_argument("--rate-limit", type=float, default=0, metavar="PER_S", help="answer 429 past this rate")
    args = parser.parse_args(argv)
    fake = StripeFake(host=args.host, port=args.port, verbose=True)
    pace(fake, create_ms=args.create_latency, read_ms=args.read_latency, jitter_ms=args.jitter,
         rate_limit=args.rate_limit)
    print(f"Stripe fake on {fake.start()} (Ctrl-C to stop)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
