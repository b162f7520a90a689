"""Where Lockgate answers differently from MLflow: each entry is listed in docs/mlflow-compat.md,
and the differential test asserts both recorded answers exactly (regenerate the values from a
run's recordings.json when a difference changes on purpose)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["INTENDED", "Difference"]


@dataclass(frozen=True)
class Difference:
    """Both recorded answers (SQLite), the PostgreSQL ones where they differ, and why."""

    mlflow: Any
    lockgate: Any
    reason: str
    postgres: dict[str, Any] = field(default_factory=dict)


INTENDED: dict[str, Difference] = {
    'experiment.create_long_name': Difference(
        mlflow={'500': 200, '501': {'status': 400, 'error': 'INVALID_PARAMETER_VALUE', 'message': True}},
        lockgate={'500': 400, '501': {'status': 400, 'error': 'INVALID_PARAMETER_VALUE', 'message': True}},
        reason="Lockgate's experiment names are at most 256 characters (the column's width since the first migration); MLflow allows 500.",
    ),
    'run.metric_history': Difference(
        mlflow={'loss': {'items': [{'key': 'loss', 'value': 1.0, 'timestamp': 1600000000000, 'step': 0}, {'key': 'loss', 'value': 0.5, 'timestamp': 1600000000001, 'step': 1}, {'key': 'loss', 'value': 0.25, 'timestamp': 1600000000002, 'step': 2}, {'key': 'loss', 'value': 'NaN', 'timestamp': 1600000000003, 'step': 3}, {'key': 'loss', 'value': 1.7976931348623157e+308, 'timestamp': 1600000000004, 'step': 4}, {'key': 'loss', 'value': -1.7976931348623157e+308, 'timestamp': 1600000000005, 'step': 5}, {'key': 'loss', 'value': 0.125, 'timestamp': 1600000000006, 'step': 6}], 'has_next_page': False}, 'acc': {'items': [{'key': 'acc', 'value': 0.9, 'timestamp': 1600000000000, 'step': 3}, {'key': 'acc', 'value': 0.8, 'timestamp': 1600000000005, 'step': 1}], 'has_next_page': False}, 'missing': {'items': [], 'has_next_page': False}},
        lockgate={'loss': {'items': [{'key': 'loss', 'value': 1.0, 'timestamp': 1600000000000, 'step': 0}, {'key': 'loss', 'value': 0.5, 'timestamp': 1600000000001, 'step': 1}, {'key': 'loss', 'value': 0.25, 'timestamp': 1600000000002, 'step': 2}, {'key': 'loss', 'value': 'NaN', 'timestamp': 1600000000003, 'step': 3}, {'key': 'loss', 'value': 'Infinity', 'timestamp': 1600000000004, 'step': 4}, {'key': 'loss', 'value': '-Infinity', 'timestamp': 1600000000005, 'step': 5}, {'key': 'loss', 'value': 0.125, 'timestamp': 1600000000006, 'step': 6}], 'has_next_page': False}, 'acc': {'items': [{'key': 'acc', 'value': 0.8, 'timestamp': 1600000000005, 'step': 1}, {'key': 'acc', 'value': 0.9, 'timestamp': 1600000000000, 'step': 3}], 'has_next_page': False}, 'missing': {'items': [], 'has_next_page': False}},
        reason="Lockgate returns a history ordered by step then timestamp (MLflow: as stored), and keeps +/-infinity, where MLflow's SQL store clamps them to +/-1.797e308.",
    ),
    'run.update_bad_status': Difference(
        mlflow={'status': 200, 'body': {'run_info': {'run_uuid': '<run1>', 'experiment_id': '1', 'run_name': 'first-renamed', 'user_id': 'unknown', 'status': 'FINISHED', 'start_time': 1600000000000, 'end_time': 1600000010000, 'artifact_uri': 'mlflow-artifacts:/1/<run1>/artifacts', 'lifecycle_stage': 'active', 'run_id': '<run1>'}}},
        lockgate={'status': 400, 'error': 'INVALID_PARAMETER_VALUE', 'message': True},
        reason="Lockgate refuses an unknown run status with INVALID_PARAMETER_VALUE; MLflow's proto parser drops it and answers 200 without changing the status.",
    ),
    'search.in_list': Difference(
        mlflow={'error': 'INVALID_PARAMETER_VALUE', 'message': True},
        lockgate={'names': ['r5', 'r3', 'r1'], 'has_next_page': False},
        reason="Lockgate's filter grammar accepts IN (...) on tags and params too; MLflow only on a few attributes and dataset fields.",
    ),
    'validation.metric.timestamp_float': Difference(
        mlflow={'status': 200, 'body': {}},
        lockgate={'status': 400, 'error': 'INVALID_PARAMETER_VALUE', 'message': True},
        reason='Lockgate refuses a timestamp that is not an integer instead of truncating it.',
    ),
    'validation.metric.timestamp_huge': Difference(
        mlflow={'status': 200, 'body': {}},
        lockgate={'status': 400, 'error': 'INVALID_PARAMETER_VALUE', 'message': True},
        reason='Lockgate refuses a timestamp beyond a 64-bit integer instead of storing an overflowed value.',
    ),
    'validation.metric.step_float': Difference(
        mlflow={'status': 200, 'body': {}},
        lockgate={'status': 400, 'error': 'INVALID_PARAMETER_VALUE', 'message': True},
        reason='Lockgate refuses a step that is not an integer instead of truncating it.',
    ),
    'validation.metric.step_huge': Difference(
        mlflow={'status': 200, 'body': {}},
        lockgate={'status': 400, 'error': 'INVALID_PARAMETER_VALUE', 'message': True},
        reason='Lockgate refuses a step beyond a 64-bit integer instead of storing an overflowed value.',
    ),
    'validation.metric_readback': Difference(
        mlflow={'metrics': ['a: b', 'größe', 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk', 'm'], 'history': {'items': [{'key': 'm', 'value': 0.0, 'timestamp': 0, 'step': 0}, {'key': 'm', 'value': 1.0, 'timestamp': 0, 'step': 0}, {'key': 'm', 'value': 1.0, 'timestamp': 1600000000000, 'step': -7}, {'key': 'm', 'value': 'NaN', 'timestamp': 1600000000000, 'step': 0}, {'key': 'm', 'value': 1.0, 'timestamp': 1600000000000, 'step': 0}, {'key': 'm', 'value': 1.5, 'timestamp': 1600000000000, 'step': 0}, {'key': 'm', 'value': 1e+308, 'timestamp': 1600000000000, 'step': 0}, {'key': 'm', 'value': 1.7976931348623157e+308, 'timestamp': 1600000000000, 'step': 0}], 'has_next_page': False}},
        lockgate={'metrics': ['a: b', 'größe', 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk', 'm'], 'history': {'items': [{'key': 'm', 'value': 1.0, 'timestamp': 1600000000000, 'step': -7}, {'key': 'm', 'value': 1.0, 'timestamp': 0, 'step': 0}, {'key': 'm', 'value': 1.5, 'timestamp': 1600000000000, 'step': 0}, {'key': 'm', 'value': 1.0, 'timestamp': 1600000000000, 'step': 0}, {'key': 'm', 'value': 'NaN', 'timestamp': 1600000000000, 'step': 0}, {'key': 'm', 'value': 'Infinity', 'timestamp': 1600000000000, 'step': 0}, {'key': 'm', 'value': 'NaN', 'timestamp': 1600000000000, 'step': 0}, {'key': 'm', 'value': 'Infinity', 'timestamp': 1600000000000, 'step': 0}, {'key': 'm', 'value': 1e+308, 'timestamp': 1600000000000, 'step': 0}, {'key': 'm', 'value': 1.0, 'timestamp': 1600000000000, 'step': 0}, {'key': 'm', 'value': 1.0, 'timestamp': 1600000000000, 'step': 0}], 'has_next_page': False}},
        reason='Follows from the four refusals above and from the history order (step, then timestamp).',
    ),
    'validation.param_value_long': Difference(
        mlflow={'ok': {'status': 200, 'body': {}}, 'long': {'status': 200, 'body': {}}, 'stored': {'p6000': 6000, 'p6001': 6000}},
        lockgate={'ok': {'status': 200, 'body': {}}, 'long': {'status': 400, 'error': 'INVALID_PARAMETER_VALUE', 'message': True}, 'stored': {'p6000': 6000}},
        reason="Lockgate refuses a param value over 6000 characters; MLflow's server silently truncates it (MLFLOW_TRUNCATE_LONG_VALUES) and a later read gives a different value than was logged.",
    ),
    'validation.tag_value_long': Difference(
        mlflow={'long': {'status': 200, 'body': {}}, 'stored': 8000},
        lockgate={'long': {'status': 400, 'error': 'INVALID_PARAMETER_VALUE', 'message': True}, 'stored': 0},
        reason='Lockgate refuses a tag value over 8000 characters instead of silently truncating it.',
    ),
    'validation.param_value_types': Difference(
        mlflow={'int': {'status': 400, 'error': 'INVALID_PARAMETER_VALUE', 'message': True}, 'null': {'status': 200, 'body': {}}, 'list': {'status': 400, 'error': 'INVALID_PARAMETER_VALUE', 'message': True}, 'empty': {'status': 200, 'body': {}}},
        lockgate={'int': {'status': 400, 'error': 'INVALID_PARAMETER_VALUE', 'message': True}, 'null': {'status': 400, 'error': 'INVALID_PARAMETER_VALUE', 'message': True}, 'list': {'status': 400, 'error': 'INVALID_PARAMETER_VALUE', 'message': True}, 'empty': {'status': 200, 'body': {}}},
        reason='Lockgate refuses a null param value; MLflow stores it.',
    ),
    'validation.batch_bad_entries': Difference(
        mlflow={'duplicate_params': {'status': 400, 'error': 'INVALID_PARAMETER_VALUE', 'message': True}, 'duplicate_same_value': {'status': 400, 'error': 'INVALID_PARAMETER_VALUE', 'message': True}, 'bad_metric_key': {'status': 400, 'error': 'INVALID_PARAMETER_VALUE', 'message': True}, 'bad_metric_value': {'status': 200, 'body': {}}, 'negative_timestamp': {'status': 400, 'error': 'INVALID_PARAMETER_VALUE', 'message': True}, 'missing_timestamp': {'status': 400, 'error': 'INVALID_PARAMETER_VALUE', 'message': True}, 'param_changed': {'status': 400, 'error': 'INVALID_PARAMETER_VALUE', 'message': True}, 'empty': {'status': 200, 'body': {}}, 'missing_run': {'status': 400, 'error': 'INVALID_PARAMETER_VALUE', 'message': True}},
        lockgate={'duplicate_params': {'status': 400, 'error': 'INVALID_PARAMETER_VALUE', 'message': True}, 'duplicate_same_value': {'status': 400, 'error': 'INVALID_PARAMETER_VALUE', 'message': True}, 'bad_metric_key': {'status': 400, 'error': 'INVALID_PARAMETER_VALUE', 'message': True}, 'bad_metric_value': {'status': 400, 'error': 'INVALID_PARAMETER_VALUE', 'message': True}, 'negative_timestamp': {'status': 400, 'error': 'INVALID_PARAMETER_VALUE', 'message': True}, 'missing_timestamp': {'status': 400, 'error': 'INVALID_PARAMETER_VALUE', 'message': True}, 'param_changed': {'status': 400, 'error': 'INVALID_PARAMETER_VALUE', 'message': True}, 'empty': {'status': 200, 'body': {}}, 'missing_run': {'status': 400, 'error': 'INVALID_PARAMETER_VALUE', 'message': True}},
        reason="Lockgate refuses a non-numeric metric value in log-batch (as MLflow does in log-metric); MLflow's log-batch accepts it.",
    ),
    'server.tracing_endpoint': Difference(
        mlflow={'search': {'status': 400, 'error': 'INVALID_PARAMETER_VALUE', 'message': True}, 'get': {'status': 404, 'error': None, 'message': False}},
        lockgate={'search': {'status': 404, 'error': 'ENDPOINT_NOT_FOUND', 'message': True}, 'get': {'status': 404, 'error': 'ENDPOINT_NOT_FOUND', 'message': True}},
        reason='Tracing is not implemented: Lockgate answers every tracing endpoint with a JSON 404 ENDPOINT_NOT_FOUND, so a client learns the feature is missing; MLflow, which implements it, refuses this search for naming no experiment and has no trace tr-0123.',
    ),
    'server.unknown_endpoint': Difference(
        mlflow={'status': 404, 'error': None, 'message': False},
        lockgate={'status': 404, 'error': 'ENDPOINT_NOT_FOUND', 'message': True},
        reason='Lockgate answers an unknown API path with a JSON 404 ENDPOINT_NOT_FOUND carrying a message, which the mlflow client raises as an MlflowException with that code; MLflow answers with an HTML 404 page. Same status.',
    ),
    'registry.update_and_tags': Difference(
        mlflow={'model': {'name': 'compat-model', 'creation_timestamp': '<now>', 'last_updated_timestamp': '<now>', 'description': 'second', 'latest_versions': [{'name': 'compat-model', 'version': '3', 'creation_timestamp': '<now>', 'last_updated_timestamp': '<now>', 'user_id': '', 'current_stage': 'None', 'description': '', 'source': 'runs:/<run1>/model', 'run_id': '<run1>', 'status': 'READY', 'run_link': ''}], 'tags': [{'key': 'team', 'value': 'risk'}], 'deployment_job_state': 'DEPLOYMENT_JOB_CONNECTION_STATE_UNSPECIFIED'}, 'v1': {'name': 'compat-model', 'version': '1', 'creation_timestamp': '<now>', 'last_updated_timestamp': '<now>', 'user_id': '', 'current_stage': 'None', 'description': 'd1b', 'source': 'runs:/<run1>/model', 'run_id': '<run1>', 'status': 'READY', 'tags': [{'key': 'validated', 'value': 'yes'}], 'run_link': ''}, 'missing_tag_delete': None},
        lockgate={'model': {'name': 'compat-model', 'creation_timestamp': '<now>', 'last_updated_timestamp': '<now>', 'description': 'second', 'latest_versions': [{'name': 'compat-model', 'version': '3', 'creation_timestamp': '<now>', 'last_updated_timestamp': '<now>', 'user_id': '', 'current_stage': 'None', 'description': '', 'source': 'runs:/<run1>/model', 'run_id': '<run1>', 'status': 'READY', 'run_link': ''}], 'tags': [{'key': 'team', 'value': 'risk'}], 'deployment_job_state': 'DEPLOYMENT_JOB_CONNECTION_STATE_UNSPECIFIED'}, 'v1': {'name': 'compat-model', 'version': '1', 'creation_timestamp': '<now>', 'last_updated_timestamp': '<now>', 'user_id': '', 'current_stage': 'None', 'description': 'd1b', 'source': 'runs:/<run1>/model', 'run_id': '<run1>', 'status': 'READY', 'tags': [{'key': 'validated', 'value': 'yes'}], 'run_link': ''}, 'missing_tag_delete': {'error': 'RESOURCE_DOES_NOT_EXIST', 'message': True}},
        reason='Deleting a registered-model tag that is not set is RESOURCE_DOES_NOT_EXIST in Lockgate (MLflow ignores it).',
    ),
    'experiment.delete_restore': Difference(
        mlflow={'deleted': {'experiment_id': '2', 'name': 'compat-doomed', 'artifact_location': 'mlflow-artifacts:/2', 'lifecycle_stage': 'deleted', 'last_update_time': '<now>', 'creation_time': '<now>', 'workspace': 'default'}, 'in_active': False, 'in_all': True, 'reuse_name': 'RESOURCE_ALREADY_EXISTS', 'restored': 'active'},
        lockgate={'deleted': {'experiment_id': '2', 'name': 'compat-doomed', 'artifact_location': 'mlflow-artifacts:/2', 'lifecycle_stage': 'deleted', 'last_update_time': '<now>', 'creation_time': '<now>', 'workspace': 'default'}, 'in_active': False, 'in_all': True, 'reuse_name': 'RESOURCE_ALREADY_EXISTS', 'restored': 'active'},
        reason="On PostgreSQL only: MLflow's failed create (the duplicate name just before) still consumes a sequence number, so its next experiment id skips one; Lockgate's ids have no gap.",
        postgres={'mlflow': {'deleted': {'experiment_id': '3', 'name': 'compat-doomed', 'artifact_location': 'mlflow-artifacts:/3', 'lifecycle_stage': 'deleted', 'last_update_time': '<now>', 'creation_time': '<now>', 'workspace': 'default'}, 'in_active': False, 'in_all': True, 'reuse_name': 'RESOURCE_ALREADY_EXISTS', 'restored': 'active'}, 'lockgate': {'deleted': {'experiment_id': '2', 'name': 'compat-doomed', 'artifact_location': 'mlflow-artifacts:/2', 'lifecycle_stage': 'deleted', 'last_update_time': '<now>', 'creation_time': '<now>', 'workspace': 'default'}, 'in_active': False, 'in_all': True, 'reuse_name': 'RESOURCE_ALREADY_EXISTS', 'restored': 'active'}},
    ),
    'registry.stages': Difference(
        mlflow={'first': {'name': 'compat-model', 'version': '1', 'creation_timestamp': '<now>', 'last_updated_timestamp': '<now>', 'user_id': '', 'current_stage': 'Production', 'description': 'd1b', 'source': 'runs:/<run1>/model', 'run_id': '<run1>', 'status': 'READY', 'tags': [{'key': 'validated', 'value': 'yes'}], 'run_link': ''}, 'second': {'name': 'compat-model', 'version': '2', 'creation_timestamp': '<now>', 'last_updated_timestamp': '<now>', 'user_id': '', 'current_stage': 'Production', 'description': '', 'source': 'runs:/<run1>/model', 'run_id': '<run1>', 'status': 'READY', 'run_link': ''}, 'staging': {'name': 'compat-model', 'version': '3', 'creation_timestamp': '<now>', 'last_updated_timestamp': '<now>', 'user_id': '', 'current_stage': 'Staging', 'description': '', 'source': 'runs:/<run1>/model', 'run_id': '<run1>', 'status': 'READY', 'run_link': '', 'aliases': ['champion']}, 'latest': [{'name': 'compat-model', 'version': '1', 'creation_timestamp': '<now>', 'last_updated_timestamp': '<now>', 'user_id': '', 'current_stage': 'Archived', 'description': 'd1b', 'source': 'runs:/<run1>/model', 'run_id': '<run1>', 'status': 'READY', 'tags': [{'key': 'validated', 'value': 'yes'}], 'run_link': ''}, {'name': 'compat-model', 'version': '2', 'creation_timestamp': '<now>', 'last_updated_timestamp': '<now>', 'user_id': '', 'current_stage': 'Production', 'description': '', 'source': 'runs:/<run1>/model', 'run_id': '<run1>', 'status': 'READY', 'run_link': ''}, {'name': 'compat-model', 'version': '3', 'creation_timestamp': '<now>', 'last_updated_timestamp': '<now>', 'user_id': '', 'current_stage': 'Staging', 'description': '', 'source': 'runs:/<run1>/model', 'run_id': '<run1>', 'status': 'READY', 'run_link': '', 'aliases': ['champion']}], 'latest_prod': [{'name': 'compat-model', 'version': '2', 'creation_timestamp': '<now>', 'last_updated_timestamp': '<now>', 'user_id': '', 'current_stage': 'Production', 'description': '', 'source': 'runs:/<run1>/model', 'run_id': '<run1>', 'status': 'READY', 'run_link': ''}], 'v1_after': 'Archived', 'bad': {'error': 'INVALID_PARAMETER_VALUE', 'message': True}},
        lockgate={'first': {'name': 'compat-model', 'version': '1', 'creation_timestamp': '<now>', 'last_updated_timestamp': '<now>', 'user_id': '', 'current_stage': 'Production', 'description': 'd1b', 'source': 'runs:/<run1>/model', 'run_id': '<run1>', 'status': 'READY', 'tags': [{'key': 'validated', 'value': 'yes'}], 'run_link': ''}, 'second': {'name': 'compat-model', 'version': '2', 'creation_timestamp': '<now>', 'last_updated_timestamp': '<now>', 'user_id': '', 'current_stage': 'Production', 'description': '', 'source': 'runs:/<run1>/model', 'run_id': '<run1>', 'status': 'READY', 'run_link': ''}, 'staging': {'name': 'compat-model', 'version': '3', 'creation_timestamp': '<now>', 'last_updated_timestamp': '<now>', 'user_id': '', 'current_stage': 'Staging', 'description': '', 'source': 'runs:/<run1>/model', 'run_id': '<run1>', 'status': 'READY', 'run_link': '', 'aliases': ['champion']}, 'latest': [{'name': 'compat-model', 'version': '1', 'creation_timestamp': '<now>', 'last_updated_timestamp': '<now>', 'user_id': '', 'current_stage': 'Archived', 'description': 'd1b', 'source': 'runs:/<run1>/model', 'run_id': '<run1>', 'status': 'READY', 'tags': [{'key': 'validated', 'value': 'yes'}], 'run_link': ''}, {'name': 'compat-model', 'version': '2', 'creation_timestamp': '<now>', 'last_updated_timestamp': '<now>', 'user_id': '', 'current_stage': 'Production', 'description': '', 'source': 'runs:/<run1>/model', 'run_id': '<run1>', 'status': 'READY', 'run_link': ''}, {'name': 'compat-model', 'version': '3', 'creation_timestamp': '<now>', 'last_updated_timestamp': '<now>', 'user_id': '', 'current_stage': 'Staging', 'description': '', 'source': 'runs:/<run1>/model', 'run_id': '<run1>', 'status': 'READY', 'run_link': '', 'aliases': ['champion']}], 'latest_prod': [{'name': 'compat-model', 'version': '2', 'creation_timestamp': '<now>', 'last_updated_timestamp': '<now>', 'user_id': '', 'current_stage': 'Production', 'description': '', 'source': 'runs:/<run1>/model', 'run_id': '<run1>', 'status': 'READY', 'run_link': ''}], 'v1_after': 'Archived', 'bad': {'error': 'INVALID_PARAMETER_VALUE', 'message': True}},
        reason='On PostgreSQL only: MLflow 3.17.2 answers this run of stage transitions with BAD_REQUEST; Lockgate performs them as MLflow does on SQLite.',
        postgres={'mlflow': {'error': 'BAD_REQUEST', 'message': True}, 'lockgate': {'first': {'name': 'compat-model', 'version': '1', 'creation_timestamp': '<now>', 'last_updated_timestamp': '<now>', 'user_id': '', 'current_stage': 'Production', 'description': 'd1b', 'source': 'runs:/<run1>/model', 'run_id': '<run1>', 'status': 'READY', 'tags': [{'key': 'validated', 'value': 'yes'}], 'run_link': ''}, 'second': {'name': 'compat-model', 'version': '2', 'creation_timestamp': '<now>', 'last_updated_timestamp': '<now>', 'user_id': '', 'current_stage': 'Production', 'description': '', 'source': 'runs:/<run1>/model', 'run_id': '<run1>', 'status': 'READY', 'run_link': ''}, 'staging': {'name': 'compat-model', 'version': '3', 'creation_timestamp': '<now>', 'last_updated_timestamp': '<now>', 'user_id': '', 'current_stage': 'Staging', 'description': '', 'source': 'runs:/<run1>/model', 'run_id': '<run1>', 'status': 'READY', 'run_link': '', 'aliases': ['champion']}, 'latest': [{'name': 'compat-model', 'version': '1', 'creation_timestamp': '<now>', 'last_updated_timestamp': '<now>', 'user_id': '', 'current_stage': 'Archived', 'description': 'd1b', 'source': 'runs:/<run1>/model', 'run_id': '<run1>', 'status': 'READY', 'tags': [{'key': 'validated', 'value': 'yes'}], 'run_link': ''}, {'name': 'compat-model', 'version': '2', 'creation_timestamp': '<now>', 'last_updated_timestamp': '<now>', 'user_id': '', 'current_stage': 'Production', 'description': '', 'source': 'runs:/<run1>/model', 'run_id': '<run1>', 'status': 'READY', 'run_link': ''}, {'name': 'compat-model', 'version': '3', 'creation_timestamp': '<now>', 'last_updated_timestamp': '<now>', 'user_id': '', 'current_stage': 'Staging', 'description': '', 'source': 'runs:/<run1>/model', 'run_id': '<run1>', 'status': 'READY', 'run_link': '', 'aliases': ['champion']}], 'latest_prod': [{'name': 'compat-model', 'version': '2', 'creation_timestamp': '<now>', 'last_updated_timestamp': '<now>', 'user_id': '', 'current_stage': 'Production', 'description': '', 'source': 'runs:/<run1>/model', 'run_id': '<run1>', 'status': 'READY', 'run_link': ''}], 'v1_after': 'Archived', 'bad': {'error': 'INVALID_PARAMETER_VALUE', 'message': True}}},
    ),
    'registry.search': Difference(
        mlflow={'pages': [['compat-alpha', 'compat-model'], ['compat-zeta']], 'by_tag': ['other-model'], 'versions': [['3', 'Staging'], ['2', 'Production'], ['1', 'Archived']], 'versions_by_run': 3, 'bad_filter': {'error': 'INVALID_PARAMETER_VALUE', 'message': True}},
        lockgate={'pages': [['compat-alpha', 'compat-model'], ['compat-zeta']], 'by_tag': ['other-model'], 'versions': [['3', 'Staging'], ['2', 'Production'], ['1', 'Archived']], 'versions_by_run': 3, 'bad_filter': {'error': 'INVALID_PARAMETER_VALUE', 'message': True}},
        reason='On PostgreSQL only: follows from the failed stage transitions on MLflow above.',
        postgres={'mlflow': {'pages': [['compat-alpha', 'compat-model'], ['compat-zeta']], 'by_tag': ['other-model'], 'versions': [['3', 'None'], ['2', 'None'], ['1', 'Production']], 'versions_by_run': 3, 'bad_filter': {'error': 'INVALID_PARAMETER_VALUE', 'message': True}}, 'lockgate': {'pages': [['compat-alpha', 'compat-model'], ['compat-zeta']], 'by_tag': ['other-model'], 'versions': [['3', 'Staging'], ['2', 'Production'], ['1', 'Archived']], 'versions_by_run': 3, 'bad_filter': {'error': 'INVALID_PARAMETER_VALUE', 'message': True}}},
    ),
}
