"""Offline MORE training, data generation and evaluation. Uses `app.domain`, nothing else of `app`."""
