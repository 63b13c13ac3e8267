"""Sync: the sans-I/O engine, the gossip node that runs it, and its carriers (radio, HTTP,
bundle file)."""
