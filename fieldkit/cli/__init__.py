"""The ``fieldkit`` command."""
