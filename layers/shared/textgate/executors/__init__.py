"""Executors: turn a claimed operation into one provider call. One module per provider, one function per
operation: its row in `textgate.registry` names it (`execute`), and delivery calls it."""

from __future__ import annotations

from textgate.providers.accounts import NotAttempted, credentials
from textgate.providers.outcome import ProviderOutcome

__all__ = ["NotAttempted", "ProviderOutcome", "credentials"]
