"""Sync: the transactional outbox (outbox.py), the worker that drains it and pulls (worker.py), the
HTTP transport with back-off and breaker (transport.py), settings (settings.py) and the SyncService
façade the GUI and CLI use (service.py). Kept import-free so adapters can import the transport."""
