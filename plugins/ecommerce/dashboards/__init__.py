"""Dashboards: the self-contained HTML page and the Tableau extract, built from analytics tables."""
