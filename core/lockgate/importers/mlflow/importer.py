"""``import_mlflow``: move an MLflow deployment's data into Lockgate, resumably.

Order: per experiment its logged models, then its runs (each run: row, params, tags, inputs;
its metric histories streamed key by key in batches; its artifacts file by file; then the
completion mark), then the registry (models, versions with their numbers, tags, aliases).

Re-running changes nothing: experiments and models are matched by name and carry the
``lockgate.import.source`` tag (a new experiment keeps its MLflow id when that id is free), runs and logged models by their kept ids, versions by their
kept numbers; a run whose completion mark is missing (an interrupted import) is rewritten
from its first point, so nothing is duplicated.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from lockgate.errors import Conflict, InvalidArgument, LockgateError
from lockgate.importers.mlflow.records import (
    SourceExperiment,
    SourceMetric,
    SourceRegisteredModel,
    SourceRun,
)
from lockgate.importers.mlflow.report import ImportProgress, ImportReport, NullProgress
from lockgate.importers.mlflow.source import (
    ArtifactOwner,
    MlflowSource,
    SourceArtifactMissing,
    SourceUnavailable,
)
from lockgate.importers.mlflow.writer import LockgateWriter
from lockgate.store.importing import RunState

__all__ = ["ImportOptions", "import_mlflow"]


@dataclass(frozen=True)
class ImportOptions:
    """What to import and how.

    ``experiments``: names to import (default all; the registry then only brings models with
    a version from those experiments' runs). ``merge``: import into experiments and models
    of the same name that hold other content (default: report them and skip).
    ``dry_run``: read the source and report what would happen, writing nothing.
    """

    experiments: Sequence[str] | None = None
    merge: bool = False
    dry_run: bool = False
    artifacts: bool = True
    batch_points: int = 10_000


def import_mlflow(
    source: MlflowSource, writer: LockgateWriter, *, options: ImportOptions | None = None,
    progress: ImportProgress | None = None,
) -> ImportReport:
    """Import ``source`` into ``writer``'s Lockgate; the report says what moved.

    A source that stops answering ends the import early with ``report.interrupted`` set;
    everything written so far stays, and the same call again resumes.
    """
    job = _Import(source, writer, options or ImportOptions(), progress or NullProgress())
    began = time.perf_counter()
    try:
        job.run()
    except SourceUnavailable as exc:
        job.report.interrupted = exc.message
    job.report.seconds = time.perf_counter() - began
    return job.report


def _creation_order(exp: SourceExperiment) -> tuple[int, str]:
    """Source ids ascending, so experiments are created here in the order they were there."""
    return (int(exp.experiment_id) if exp.experiment_id.isdigit() else 1 << 62, exp.experiment_id)


class _Import:
    def __init__(self, source: MlflowSource, writer: LockgateWriter, options: ImportOptions,
                 progress: ImportProgress) -> None:
        self.source, self.writer, self.options, self.progress = source, writer, options, progress
        self.report = ImportReport(source=source.label, dry_run=options.dry_run)
        self.run_ids: set[str] = set()

    def run(self) -> None:
        self.source.check()
        self.writer.check()
        experiments = self._selected(sorted(self.source.experiments(), key=_creation_order))
        self.progress.start("experiments", total=len(experiments))
        self.progress.start("runs")
        self.progress.start("metric points")
        for exp in experiments:
            self._experiment(exp)
            self.progress.advance("experiments")
        models = list(self.source.registered_models())
        self.progress.start("registered models", total=len(models))
        for model in models:
            self._registered_model(model)
            self.progress.advance("registered models")

    def _selected(self, experiments: list[SourceExperiment]) -> list[SourceExperiment]:
        if not self.options.experiments:
            return experiments
        wanted = [n.strip() for n in self.options.experiments if n.strip()]
        by_name = {e.name: e for e in experiments}
        unknown = [n for n in wanted if n not in by_name]
        if unknown:
            raise InvalidArgument(
                f"No experiment named {', '.join(map(repr, unknown))} in {self.source.label}; it has "
                f"{', '.join(map(repr, sorted(by_name)[:20]))}{' ...' if len(by_name) > 20 else ''}."
            )
        return [by_name[n] for n in dict.fromkeys(wanted)]

    # -------------------------------------------------------------- experiments
    def _experiment(self, exp: SourceExperiment) -> None:
        existing = self.writer.experiment(exp.name)
        imported = existing is not None and self.writer.is_imported(existing.tags)
        # An experiment an import already adopted is resumed (its runs without a completion
        # mark are that import's, interrupted); any other with runs of its own is a clash.
        if existing is not None and not imported and not self.options.merge:
            count = self.writer.native_run_count(existing)
            if count:
                self.report.problem("experiments", "conflict", (
                    f"Experiment {exp.name!r} already exists in Lockgate with {count} run(s) of its own: "
                    "skipped. Pass --merge to import into it, or rename one of them."))
                return
        if self.options.dry_run:
            self.report.add("experiments", "present" if existing is not None else "created")
            exp_id = existing.experiment_id if existing is not None else None
        else:
            self.report.add("experiments", "present" if imported else "created")
            exp_id = self.writer.adopt_experiment(exp.name, source_id=exp.experiment_id, tags=exp.tags,
                                                  existing=existing)
        if exp_id is not None and not self.options.dry_run:
            for model in self.source.logged_models(exp.experiment_id):
                location, created = self.writer.put_logged_model(model, experiment_id=exp_id)
                self.report.add("logged models", "created" if created else "present")
                if created:
                    self._artifacts("logged_model", model.model_id, model.artifact_location, location)
        for run in self.source.runs(exp.experiment_id):
            self.run_ids.add(run.run_id)
            self._run(run, exp_id)
            self.progress.advance("runs")
        if exp_id is not None and not self.options.dry_run:
            self.writer.finish_experiment(exp_id, lifecycle_stage=exp.lifecycle_stage,
                                          creation_time=exp.creation_time)

    # --------------------------------------------------------------------- runs
    def _run(self, run: SourceRun, exp_id: str | None) -> None:
        state = self.writer.run_state(run.run_id)
        if state is RunState.COMPLETE:
            self.report.add("runs", "present")
            return
        if self.options.dry_run or exp_id is None:
            self.report.add("runs", "created")
            return
        try:
            artifact_uri = self.writer.begin_run(run, experiment_id=exp_id)
            points = self._metrics(run)
            if self.options.artifacts:
                self._artifacts("run", run.run_id, run.artifact_uri, artifact_uri)
            self.writer.finish_run(run)
        except SourceUnavailable:
            raise
        except LockgateError as exc:
            self.report.problem("runs", "failed", f"Run {run.run_id} ({run.run_name!r}): {exc.message}")
            return
        self.report.add("runs", "created")
        self.report.add("metric points", "created", points)

    def _metrics(self, run: SourceRun) -> int:
        """Stream every history of the run into batched writes; returns the points written."""
        batch: list[SourceMetric] = []
        written = 0
        for key in run.metric_keys:
            for page in self.source.metric_history(run.run_id, key):
                batch.extend(page)
                if len(batch) >= self.options.batch_points:
                    self.writer.add_metrics(run.run_id, batch)
                    written += len(batch)
                    self.progress.advance("metric points", len(batch))
                    batch = []
        self.writer.add_metrics(run.run_id, batch)
        self.progress.advance("metric points", len(batch))
        return written + len(batch)

    def _artifacts(self, owner: ArtifactOwner, owner_id: str, source_root: str, dest_root: str) -> None:
        for path in self.source.artifact_files(owner, owner_id, source_root):
            if isinstance(path, SourceArtifactMissing):
                self.report.problem("artifacts", "failed", path.message)
                continue
            try:
                with self.source.open_artifact(owner, owner_id, source_root, path) as handle:
                    self.writer.write_artifact(dest_root, path, handle)
            except SourceArtifactMissing as exc:
                self.report.problem("artifacts", "failed", exc.message)
                continue
            self.report.add("artifacts", "created")

    # ---------------------------------------------------------------- registry
    def _registered_model(self, model: SourceRegisteredModel) -> None:
        versions = list(self.source.model_versions(model.name))
        if self.options.experiments and not any(v.run_id in self.run_ids for v in versions):
            return
        existing = self.writer.registered_model(model.name)
        ours = existing is not None and self.writer.is_imported(existing.tags)
        if existing is not None and not ours and not self.options.merge:
            self.report.problem("registered models", "conflict", (
                f"Registered model {model.name!r} already exists in Lockgate: skipped with its "
                f"{len(versions)} version(s). Pass --merge to add the versions whose numbers are free."))
            return
        self.report.add("registered models", "present" if ours else "created")
        if self.options.dry_run:
            self.report.add("model versions", "created", len(versions))
            self.report.add("aliases", "created", len(model.aliases))
            return
        if existing is None:
            self.writer.create_registered_model(model.name, description=model.description, tags=model.tags)
        else:
            self.writer.set_model_tags(model.name, model.tags, current=existing.tags)
        for version in versions:
            try:
                made, created = self.writer.import_version(version)
            except (Conflict, InvalidArgument) as exc:
                self.report.problem("model versions", "conflict", f"{model.name!r} v{version.version}: {exc.message}")
                continue
            if created:
                self.report.add("model versions", "created")
            elif made.source == self.writer.locate(version.source)[0]:
                self.report.add("model versions", "present")
            else:
                self.report.problem("model versions", "conflict", (
                    f"{model.name!r} v{version.version} already exists in Lockgate from {made.source!r} "
                    f"(MLflow has {version.source!r}): kept Lockgate's."))
        current = self.writer.registered_model(model.name)
        held = current.aliases if current is not None else {}
        for alias, number in sorted(model.aliases.items()):
            if held.get(alias) == number:
                self.report.add("aliases", "present")
                continue
            try:
                self.writer.set_alias(model.name, alias, number)
            except LockgateError as exc:
                self.report.problem("aliases", "failed", f"{model.name!r}@{alias} -> v{number}: {exc.message}")
                continue
            self.report.add("aliases", "created")
