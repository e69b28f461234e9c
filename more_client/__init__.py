"""A client of the MORE dialogue service's HTTP API, for every tool that calls it.

Evaluation, the simulator, the retraining job, the `more experiment` CLI and the load
benchmark all talk to the service through `MoreClient` (sync) or `AsyncMoreClient`
(async), so authentication, the error shape and the retry rule (`more_client.retry`)
live in one place. The package imports nothing from `app` or `training`: it is a plain
HTTP client that either half (and anyone outside the repository) may use.

    with MoreClient("http://127.0.0.1:8000", "demo-storefront-key") as api:
        reply = api.chat(user_id="demo-eligible", message="Can I pay in instalments?")
"""

from more_client.client import AsyncMoreClient, MoreClient
from more_client.errors import MoreApiError
from more_client.retry import RetryPolicy

__all__ = ["AsyncMoreClient", "MoreApiError", "MoreClient", "RetryPolicy"]
