"""Operators: register models, promote them through gates, score files in batch, run projects."""

from lockgate_airflow.operators.predict import BatchPredictOperator
from lockgate_airflow.operators.project import RunProjectOperator
from lockgate_airflow.operators.registry import PromoteModelOperator, RegisterModelOperator

__all__ = ["BatchPredictOperator", "PromoteModelOperator", "RegisterModelOperator", "RunProjectOperator"]
