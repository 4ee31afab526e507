"""Run the Stripe fake in the foreground, to poke at it by hand:

    .venv/bin/python -m tests.fakes.stripe --port 12111
    curl -u sk_test_x: localhost:12111/v1/prices -d currency=usd -d unit_amount=500 -d product_data[name]=Tee
"""

import argparse
import threading

from .server import StripeFake


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Run the Stripe fake in the foreground.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    args = parser.parse_args(argv)
    fake = StripeFake(host=args.host, port=args.port, verbose=True)
    print(f"Stripe fake on {fake.start()} (Ctrl-C to stop)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
