"""Assets the DAGs exchange: the pipeline updates them, the dashboard refresh waits on them."""

from airflow.sdk import Asset

#: Updated by the last analytics task of a successful pipeline run.
ANALYTICS_ASSET = Asset(
    name="ecommerce_analytics",
    uri="postgres://ecommerce-warehouse:5432/ecommerce/analytics/insights",
    group="ecommerce",
)
