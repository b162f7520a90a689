"""Operators: register models, promote them through gates, and score files in batch."""

from lockgate_airflow.operators.predict import BatchPredictOperator
from lockgate_airflow.operators.registry import PromoteModelOperator, RegisterModelOperator

__all__ = ["BatchPredictOperator", "PromoteModelOperator", "RegisterModelOperator"]
