"""The store: the storage port and its SQLite adapter, and group commit."""
