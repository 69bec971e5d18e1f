"""Umbra's decision API for Python orchestrators: ``decide`` with a deadline that falls back to
the caller's own rule choice, and outcomes sent in the background with retries. Standard library
only; Python 3.9 or later. See the README beside this package."""

from .client import SERVED_BY, ContextValue, Decision, OutcomeResult, UmbraClient

__all__ = ["SERVED_BY", "ContextValue", "Decision", "OutcomeResult", "UmbraClient"]
__version__ = "0.1.0"
