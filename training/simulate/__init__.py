"""Customer simulator (`more simulate`): simulated shoppers drive the live HTTP API.

SIMULATION: outcomes come from a documented model (`outcomes.py`), not real shoppers.
"""
