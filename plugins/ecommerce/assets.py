"""Assets the DAGs exchange: the pipeline updates them, the dashboard refresh waits on them; the
landing folder's markers update one that starts the intake."""

from airflow.sdk import Asset, AssetWatcher

from ecommerce.landing_trigger import LandingReadyTrigger

#: Updated by the last analytics task of a successful pipeline run.
ANALYTICS_ASSET = Asset(
    name="ecommerce_analytics",
    uri="postgres://ecommerce-warehouse:5432/ecommerce/analytics/insights",
    group="ecommerce",
)

#: Updated each time a ``<landing>/<YYYY-MM-DD>/_READY`` marker is consumed (its event's
#: ``extra["payload"]`` names the folder); ``landing_intake`` is scheduled on it.
LANDING_ASSET = Asset(
    name="ecommerce_landing",
    uri="file://ecommerce-data/landing",
    group="ecommerce",
    watchers=[AssetWatcher(name="landing_ready_markers", trigger=LandingReadyTrigger())],
)
