"""Custom operators of the pipeline. Each creates its hook in ``execute`` only."""

from ecommerce.operators.csv_to_staging import CsvToStagingOperator
from ecommerce.operators.quality_gate import QualityGateOperator
from ecommerce.operators.sql_model import SqlModelOperator

__all__ = ["CsvToStagingOperator", "QualityGateOperator", "SqlModelOperator"]
