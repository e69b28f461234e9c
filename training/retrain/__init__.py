"""Retraining from logs (`more retrain`): export logged turns as TaskExamples, mix with
generated data, run MORE from the current policy's adapter, evaluate, register unpromoted.

`intent` infers the customer's intent, `export` reads the service's database, `pipeline`
runs the whole job; see docs/retraining.md.
"""
