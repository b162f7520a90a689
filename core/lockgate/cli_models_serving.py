"""``lockgate models predict`` and ``lockgate models serve``: batch scoring and the scoring server.

``models_serving_app`` holds both commands; ``register(models_app)`` adds them to another Typer
app (the registry's ``lockgate models`` group).
"""

from __future__ import annotations

from typing import Annotated

import typer

from lockgate.cli_common import TrackingUriOption, console, handle_errors

__all__ = ["models_serving_app", "predict_command", "register", "serve_command"]

models_serving_app = typer.Typer(help="Score files with a model and serve it over HTTP.",
                                 no_args_is_help=True)

ModelOption = Annotated[str, typer.Option("--model-uri", "-m",
                                          help="Model: a path, runs:/<run_id>/<path> or models:/<name>@<alias>.")]


def _use_tracking_uri(tracking_uri: str | None) -> None:
    if tracking_uri:
        from lockgate import settings

        settings.set_tracking_uri(tracking_uri)


@handle_errors
def predict_command(
    model_uri: ModelOption,
    input_path: Annotated[str, typer.Option("--input-path", "-i", help="CSV or Parquet file to score.")],
    output_path: Annotated[str, typer.Option("--output-path", "-o", help="CSV or Parquet file to write.")],
    chunk_size: Annotated[int, typer.Option("--chunk-size", help="Rows scored per chunk.")] = 100_000,
    output_column: Annotated[str, typer.Option("--output-column", help="Name of the prediction column.")] = "prediction",
    no_input: Annotated[bool, typer.Option("--no-input", help="Write only the predictions.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    tracking_uri: TrackingUriOption = None,
) -> None:
    """Score a CSV or Parquet file in chunks and write the rows with their predictions."""
    from lockgate.serving.batch import predict_batch

    _use_tracking_uri(tracking_uri)
    result = predict_batch(model_uri, input_path, output_path, chunk_size=chunk_size,
                           progress=not quiet, output_column=output_column,
                           include_input=not no_input)
    rate = result.rows / result.seconds if result.seconds else float("inf")
    console.print(f"Scored {result.rows:,} rows in {result.chunks} chunk(s), {result.seconds:.1f}s "
                  f"({rate:,.0f} rows/s) -> {result.output_path}", highlight=False)


@handle_errors
def serve_command(
    model_uri: ModelOption,
    port: Annotated[int, typer.Option("--port", "-p", help="Port to listen on.")] = 5001,
    host: Annotated[str, typer.Option("--host", "-h", help="Interface to bind.")] = "127.0.0.1",
    workers: Annotated[int, typer.Option("--workers", "-w", help="Worker processes.")] = 1,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level.")] = "warning",
    tracking_uri: TrackingUriOption = None,
) -> None:
    """Serve a model: POST /invocations (MLflow's scoring protocol), GET /ping, /health, /version."""
    from lockgate.models.pyfunc import load_model
    from lockgate.serving.app import serve

    _use_tracking_uri(tracking_uri)
    load_model(model_uri)  # fail here, with a clear error, before binding the port
    console.print(f"Serving {model_uri} on http://{host}:{port}/invocations", highlight=False)
    serve(model_uri, host=host, port=port, workers=workers, log_level=log_level)


def register(models_app: typer.Typer) -> None:
    """Add ``predict`` and ``serve`` to an existing ``models`` Typer app."""
    models_app.command("predict")(predict_command)
    models_app.command("serve")(serve_command)


register(models_serving_app)


