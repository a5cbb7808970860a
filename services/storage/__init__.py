"""Where things are kept: the SQLite/SQLAlchemy store, its health and backups, the folders, the keyring."""
