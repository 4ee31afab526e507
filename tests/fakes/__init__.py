"""Fakes of the services the store talks to, for tests (``stripe``: Stripe's API over HTTP)."""
