"""Contracts: declared once, apart from the code they judge, and checked everywhere.

This package reads the system under test as *source files* (it never imports it, nor
``sim``), so the same rules can judge another code base with its own registry and
migrations.
"""

from simwire.violation import Severity, Violation

__all__ = ["Severity", "Violation"]
