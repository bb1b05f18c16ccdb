"""The business date a DAG run works on."""

from __future__ import annotations

from ecommerce.failures import ContractViolation

#: The same rule as a Jinja template, for operator arguments.
BUSINESS_DATE_TEMPLATE = "{{ params.business_date or data_interval_start | ds }}"


def business_date_of(context) -> str:
    """The ``business_date`` param of a manual run, else the data interval's start (UTC)."""
    params = context.get("params") or {}
    if params.get("business_date"):
        return str(params["business_date"])
    start = context.get("data_interval_start")
    if start is None:
        raise ContractViolation("the run has no business_date param and no data interval")
    return start.strftime("%Y-%m-%d")


def business_date_or_unknown(context) -> str:
    """The business date for a failure report: ``unknown`` when the run has none to give."""
    try:
        return business_date_of(context)
    except ContractViolation:
        return "unknown"
