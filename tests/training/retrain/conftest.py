"""Fixtures of the retraining tests (the shared intent classifier lives in tests/conftest.py)."""
