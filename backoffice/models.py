"""No models of its own: the booth's records live in inventory and payments. This module exists so
Django sends this app post_migrate, which keeps the booth-staff group in step (apps.py)."""
