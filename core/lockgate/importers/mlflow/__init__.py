"""``lockgate import mlflow``: move an MLflow server or database into Lockgate.

Readers (``rest_source``, ``db_source``) implement ``MlflowSource``; ``writer`` lands records
through the core store's import path; ``importer`` orchestrates and resumes.
"""

from lockgate.importers.mlflow.importer import ImportOptions, import_mlflow
from lockgate.importers.mlflow.report import ImportProgress, ImportReport, NullProgress
from lockgate.importers.mlflow.source import MlflowSource, SourceUnavailable, open_source
from lockgate.importers.mlflow.writer import LockgateWriter

__all__ = [
    "ImportOptions",
    "ImportProgress",
    "ImportReport",
    "LockgateWriter",
    "MlflowSource",
    "NullProgress",
    "SourceUnavailable",
    "import_mlflow",
    "open_source",
]
