"""Conveyor's status page."""
