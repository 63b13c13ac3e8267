"""fieldkit: a disaster-response field kit for mutual aid on a local mesh."""

__version__ = "0.1.0"
