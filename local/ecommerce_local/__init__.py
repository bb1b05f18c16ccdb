"""The local (no Docker) mode behind ``make run``, ``make test`` and ``make airflow``.

An embedded PostgreSQL under ``.local/`` unless AIRFLOW_CONN_ECOMMERCE_WAREHOUSE names another
server, and an AIRFLOW_HOME with SQLite metadata pointed at this repository's DAGs and plugins.

Development tooling, outside ``plugins/`` (the deployed code, which never imports it): the
Makefile and pytest.ini put ``local/`` on the path, ``environment.build`` on every child's.
"""
