"""Importers that move another tracking server's data into Lockgate (``lockgate import ...``)."""

__all__: list[str] = []
