"""Conveyor: push to git; the services you touched are built once, tested and promoted by digest."""

__version__ = "0.1.0"
