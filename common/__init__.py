"""What both apps share: money formatting, client addresses, read-only admin, live-feed sockets, lookups.

Imports neither app nor the project package (swagstore/), which imports the apps; .importlinter says so.
"""
