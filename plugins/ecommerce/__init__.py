"""E-commerce analytics pipeline: the code the Airflow DAGs in ``dags/`` import.

Airflow puts ``plugins/`` on ``sys.path``, so this package imports as ``ecommerce``.
"""
