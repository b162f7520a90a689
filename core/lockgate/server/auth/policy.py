"""The permission table: which permission each store and registry operation needs, on what.

Every surface (native API, MLflow-compatible API, artifact proxy, web UI) names the
operation it performs and the ``Authorizer`` looks the requirement up here, so a rule is
written once. Permissions are per experiment (runs, logged models and proxied artifacts
belong to their experiment) and per registered model; admins pass every check.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from lockgate.server.auth.store import Permission

__all__ = ["REQUIREMENTS", "Operation", "Requirement", "Scope", "operations_on", "requirement"]


class Scope(str, Enum):
    """What an operation's permission is checked on."""

    ANY_USER = "any_user"  # every authenticated user (creating, searching: results are filtered)
    EXPERIMENT = "experiment"  # by experiment id
    RUN = "run"  # the run's experiment
    LOGGED_MODEL = "logged_model"  # the logged model's experiment
    ARTIFACT = "artifact"  # the experiment named by the proxied path's first segment
    REGISTERED_MODEL = "registered_model"  # by model name
    ADMIN = "admin"  # admins only


class Operation(str, Enum):
    """One store or registry call a request can make."""

    # experiments
    CREATE_EXPERIMENT = "create_experiment"
    SEARCH_EXPERIMENTS = "search_experiments"
    GET_EXPERIMENT = "get_experiment"
    RENAME_EXPERIMENT = "rename_experiment"
    SET_EXPERIMENT_TAG = "set_experiment_tag"
    DELETE_EXPERIMENT_TAG = "delete_experiment_tag"
    DELETE_EXPERIMENT = "delete_experiment"
    RESTORE_EXPERIMENT = "restore_experiment"
    CREATE_RUN = "create_run"
    SEARCH_RUNS = "search_runs"
    CREATE_LOGGED_MODEL = "create_logged_model"
    SEARCH_LOGGED_MODELS = "search_logged_models"
    # runs
    GET_RUN = "get_run"
    GET_METRIC_HISTORY = "get_metric_history"
    UPDATE_RUN = "update_run"
    LOG_BATCH = "log_batch"
    DELETE_RUN_TAG = "delete_run_tag"
    LOG_INPUTS = "log_inputs"
    LOG_OUTPUTS = "log_outputs"
    DELETE_RUN = "delete_run"
    RESTORE_RUN = "restore_run"
    # logged models
    GET_LOGGED_MODEL = "get_logged_model"
    UPDATE_LOGGED_MODEL = "update_logged_model"
    DELETE_LOGGED_MODEL = "delete_logged_model"
    # artifact proxy
    READ_ARTIFACTS = "read_artifacts"
    WRITE_ARTIFACTS = "write_artifacts"
    DELETE_ARTIFACTS = "delete_artifacts"
    # registered models
    CREATE_REGISTERED_MODEL = "create_registered_model"
    SEARCH_REGISTERED_MODELS = "search_registered_models"
    SEARCH_MODEL_VERSIONS = "search_model_versions"
    GET_REGISTERED_MODEL = "get_registered_model"
    UPDATE_REGISTERED_MODEL = "update_registered_model"
    SET_REGISTERED_MODEL_TAG = "set_registered_model_tag"
    DELETE_REGISTERED_MODEL_TAG = "delete_registered_model_tag"
    RENAME_REGISTERED_MODEL = "rename_registered_model"
    DELETE_REGISTERED_MODEL = "delete_registered_model"
    CREATE_MODEL_VERSION = "create_model_version"
    GET_MODEL_VERSION = "get_model_version"
    UPDATE_MODEL_VERSION = "update_model_version"
    SET_MODEL_VERSION_TAG = "set_model_version_tag"
    DELETE_MODEL_VERSION_TAG = "delete_model_version_tag"
    DELETE_MODEL_VERSION = "delete_model_version"
    # aliases, stages and gates
    MOVE_ALIAS_OR_STAGE = "move_alias_or_stage"  # set an alias, transition a stage, promote: through the gate
    DELETE_ALIAS = "delete_alias"
    OVERRIDE_GATE = "override_gate"  # force a failing gate (with a recorded reason)
    EVALUATE_GATE = "evaluate_gate"
    GET_GATE_POLICY = "get_gate_policy"
    SET_GATE_POLICY = "set_gate_policy"
    APPROVE_MODEL_VERSION = "approve_model_version"
    GET_MODEL_HISTORY = "get_model_history"
    MANAGE_MODEL_WEBHOOKS = "manage_model_webhooks"  # create, change, test, delete a model's webhooks
    # server
    READ_ALL_EVENTS = "read_all_events"
    MANAGE_ALL_WEBHOOKS = "manage_all_webhooks"  # webhooks of every model
    GARBAGE_COLLECT = "garbage_collect"
    IMPORT_RECORDS = "import_records"  # the id-preserving import path (/api/v1/import)


@dataclass(frozen=True)
class Requirement:
    """``permission`` on the resource named by ``scope`` (no permission for ANY_USER / ADMIN)."""

    scope: Scope
    permission: Permission | None = None


_R, _E, _M = Permission.READ, Permission.EDIT, Permission.MANAGE
_O = Operation

REQUIREMENTS: dict[Operation, Requirement] = {
    _O.CREATE_EXPERIMENT: Requirement(Scope.ANY_USER),
    _O.SEARCH_EXPERIMENTS: Requirement(Scope.ANY_USER),
    _O.GET_EXPERIMENT: Requirement(Scope.EXPERIMENT, _R),
    _O.RENAME_EXPERIMENT: Requirement(Scope.EXPERIMENT, _E),
    _O.SET_EXPERIMENT_TAG: Requirement(Scope.EXPERIMENT, _E),
    _O.DELETE_EXPERIMENT_TAG: Requirement(Scope.EXPERIMENT, _E),
    _O.DELETE_EXPERIMENT: Requirement(Scope.EXPERIMENT, _M),
    _O.RESTORE_EXPERIMENT: Requirement(Scope.EXPERIMENT, _M),
    _O.CREATE_RUN: Requirement(Scope.EXPERIMENT, _E),
    _O.SEARCH_RUNS: Requirement(Scope.EXPERIMENT, _R),
    _O.CREATE_LOGGED_MODEL: Requirement(Scope.EXPERIMENT, _E),
    _O.SEARCH_LOGGED_MODELS: Requirement(Scope.EXPERIMENT, _R),
    _O.GET_RUN: Requirement(Scope.RUN, _R),
    _O.GET_METRIC_HISTORY: Requirement(Scope.RUN, _R),
    _O.UPDATE_RUN: Requirement(Scope.RUN, _E),
    _O.LOG_BATCH: Requirement(Scope.RUN, _E),
    _O.DELETE_RUN_TAG: Requirement(Scope.RUN, _E),
    _O.LOG_INPUTS: Requirement(Scope.RUN, _E),
    _O.LOG_OUTPUTS: Requirement(Scope.RUN, _E),
    _O.DELETE_RUN: Requirement(Scope.RUN, _M),
    _O.RESTORE_RUN: Requirement(Scope.RUN, _M),
    _O.GET_LOGGED_MODEL: Requirement(Scope.LOGGED_MODEL, _R),
    _O.UPDATE_LOGGED_MODEL: Requirement(Scope.LOGGED_MODEL, _E),
    _O.DELETE_LOGGED_MODEL: Requirement(Scope.LOGGED_MODEL, _E),
    _O.READ_ARTIFACTS: Requirement(Scope.ARTIFACT, _R),
    _O.WRITE_ARTIFACTS: Requirement(Scope.ARTIFACT, _E),
    _O.DELETE_ARTIFACTS: Requirement(Scope.ARTIFACT, _E),
    _O.CREATE_REGISTERED_MODEL: Requirement(Scope.ANY_USER),
    _O.SEARCH_REGISTERED_MODELS: Requirement(Scope.ANY_USER),
    _O.SEARCH_MODEL_VERSIONS: Requirement(Scope.ANY_USER),
    _O.GET_REGISTERED_MODEL: Requirement(Scope.REGISTERED_MODEL, _R),
    _O.UPDATE_REGISTERED_MODEL: Requirement(Scope.REGISTERED_MODEL, _E),
    _O.SET_REGISTERED_MODEL_TAG: Requirement(Scope.REGISTERED_MODEL, _E),
    _O.DELETE_REGISTERED_MODEL_TAG: Requirement(Scope.REGISTERED_MODEL, _E),
    _O.RENAME_REGISTERED_MODEL: Requirement(Scope.REGISTERED_MODEL, _M),
    _O.DELETE_REGISTERED_MODEL: Requirement(Scope.REGISTERED_MODEL, _M),
    _O.CREATE_MODEL_VERSION: Requirement(Scope.REGISTERED_MODEL, _E),
    _O.GET_MODEL_VERSION: Requirement(Scope.REGISTERED_MODEL, _R),
    _O.UPDATE_MODEL_VERSION: Requirement(Scope.REGISTERED_MODEL, _E),
    _O.SET_MODEL_VERSION_TAG: Requirement(Scope.REGISTERED_MODEL, _E),
    _O.DELETE_MODEL_VERSION_TAG: Requirement(Scope.REGISTERED_MODEL, _E),
    _O.DELETE_MODEL_VERSION: Requirement(Scope.REGISTERED_MODEL, _M),
    _O.MOVE_ALIAS_OR_STAGE: Requirement(Scope.REGISTERED_MODEL, _E),
    _O.DELETE_ALIAS: Requirement(Scope.REGISTERED_MODEL, _E),
    _O.OVERRIDE_GATE: Requirement(Scope.REGISTERED_MODEL, _M),
    _O.EVALUATE_GATE: Requirement(Scope.REGISTERED_MODEL, _R),
    _O.GET_GATE_POLICY: Requirement(Scope.REGISTERED_MODEL, _R),
    _O.SET_GATE_POLICY: Requirement(Scope.REGISTERED_MODEL, _M),
    _O.APPROVE_MODEL_VERSION: Requirement(Scope.REGISTERED_MODEL, _E),
    _O.GET_MODEL_HISTORY: Requirement(Scope.REGISTERED_MODEL, _R),
    _O.MANAGE_MODEL_WEBHOOKS: Requirement(Scope.REGISTERED_MODEL, _M),
    _O.READ_ALL_EVENTS: Requirement(Scope.ADMIN),
    _O.MANAGE_ALL_WEBHOOKS: Requirement(Scope.ADMIN),
    _O.GARBAGE_COLLECT: Requirement(Scope.ADMIN),
    _O.IMPORT_RECORDS: Requirement(Scope.ADMIN),
}


def requirement(operation: Operation) -> Requirement:
    """What ``operation`` needs (every operation has exactly one entry)."""
    return REQUIREMENTS[operation]


def operations_on(scope: Scope) -> list[Operation]:
    """The operations checked on one kind of resource, in table order."""
    return [op for op, req in REQUIREMENTS.items() if req.scope is scope]
