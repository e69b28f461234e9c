"""Offline MORE training, data generation and evaluation.

Uses `app.domain` and nothing else of `app` (see docs/architecture.md for the exceptions).
"""
