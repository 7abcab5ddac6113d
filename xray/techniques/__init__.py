"""One module per technique page: a loaded model or classifier plus inputs in, a result dataclass out.

Every result states its own verdicts and exports itself: ``table()`` (a DataFrame) and ``to_json()``
(see :class:`xray.results.Result`).
"""
