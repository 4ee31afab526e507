"""Durable work of payments, between intake and the workers: its kinds as the work engine
(common/work.py) knows them, how rows are recorded, and the bells that wake the workers."""
