"""The BI files users open, generated from the warehouse catalog and include/bi/semantic_model.yml.

- ``model``: the semantic model (tables and typed columns from the catalog, relationships,
  measures, report pages), checked against the catalog.
- ``tmdl`` and ``pbir``: the Power BI project (TMDL semantic model, PBIR report).
- ``tds``: the Tableau data source for the live connection.

``python -m ecommerce.bi <dashboards folder>`` (``make powerbi``) writes them all.
"""
