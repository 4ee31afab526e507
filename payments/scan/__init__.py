"""The QR scan: where a printed code leads (payments/scan/views.py)."""
