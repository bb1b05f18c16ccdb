"""How Airflow connects to the local metadata database, a SQLite file.

Airflow imports ``CONNECT_ARGS`` by name (``[database] sql_alchemy_connect_args`` and its async
twin), in every process it starts: so this module imports nothing.
"""

#: SQLite lets one process write at a time; another waits for the lock up to ``timeout`` seconds,
#: then fails with "database is locked". Python's default, 5 s, is not enough on a busy machine:
#: a run triggered from the REST API while the scheduler, the tasks and their heartbeats wrote
#: got a 500 after its 5 s wait. A wait is harmless: each write is short once its turn comes.
CONNECT_ARGS = {"timeout": 30}

#: Seconds a task waits for the API server's answer (``[workers] execution_api_timeout``, 5 s by
#: default) before it sends the request again: longer than the server may wait for the lock, so
#: a request is not sent a second time while the first is still waiting its turn.
API_TIMEOUT = 2 * CONNECT_ARGS["timeout"]
