"""``lockgate webhooks`` through Typer's CliRunner against a live server: the commands of
docs/webhooks.md as written (with the receiver's URL and the new id), and bad input."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable

from lockgate import LockgateClient
from lockgate.cli.webhooks import webhooks_app
from typer.testing import CliRunner
from webhook_docs import doc_blocks
from webhook_receiver import Receiver

runner = CliRunner()


def _cli(uri: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(webhooks_app, [*args, "--tracking-uri", uri], env={"COLUMNS": "250"})
    return result.exit_code, result.stdout, result.stderr


def _documented_commands() -> list[list[str]]:
    (block,) = [b for b in doc_blocks("bash") if "lockgate webhooks create" in b]
    text = block.replace("\\\n", " ")
    return [shlex.split(line.split("#", 1)[0])[2:] for line in text.splitlines()
            if line.startswith("lockgate webhooks")]


def test_the_documented_commands(start_server: Callable[..., str], sqlite_uri: str, hook_receiver: Receiver) -> None:
    url = start_server(backend_store_uri=sqlite_uri)
    client = LockgateClient(url, user="alice")
    client.create_registered_model("churn")
    client.create_model_version("churn", source="s3://b/1")
    commands = _documented_commands()
    assert [c[0] for c in commands] == ["create", "list", "test", "deliveries", "delete"]

    create = [hook_receiver.url if a == "https://ci.example/hooks/models" else a for a in commands[0]]
    code, out, err = _cli(url, *create, "--output", "json")
    assert code == 0, err
    hook = json.loads(out)
    assert hook["events"] == ["model_version.promoted", "gate.rejected"] and hook["model_name"] == "churn"
    assert hook["secret_source"] == "env:HOOK_SECRET"

    code, out, _ = _cli(url, *commands[1])
    assert code == 0 and hook["webhook_id"] in out and "env:HOOK_SECRET" in out

    def with_id(command: list[str]) -> list[str]:
        return [hook["webhook_id"] if a == "<id>" else a for a in command]

    code, out, _ = _cli(url, *with_id(commands[2]))
    assert code == 0 and "OK 200" in out
    client.set_gate_policy("churn", alias="champion", policy={"rules": []})
    client.promote("churn", version=1, alias="champion")
    hook_receiver.wait_for(2)
    code, out, _ = _cli(url, *with_id(commands[3]), "--output", "json")
    attempts = json.loads(out)
    assert code == 0 and [(a["event_type"], a["outcome"]) for a in attempts] == [
        ("model_version.promoted", "SUCCEEDED"), ("webhook.test", "SUCCEEDED")]
    code, out, _ = _cli(url, *with_id(commands[3]))
    assert code == 0 and "SUCCEEDED" in out and "model_version.promoted" in out

    code, out, _ = _cli(url, *with_id(commands[4]))
    assert code == 0 and f"Deleted webhook {hook['webhook_id']}" in out
    code, out, _ = _cli(url, "list", "--output", "json")
    assert json.loads(out) == []


def test_bad_input_is_one_clear_line(sqlite_uri: str) -> None:
    LockgateClient(sqlite_uri).create_registered_model("churn")
    code, _, err = _cli(sqlite_uri, "create", "--url", "http://127.0.0.1:9/x", "--events", "model.promoted",
                        "--model", "churn", "--secret-env", "HOOK_SECRET")
    assert code == 1 and "Unknown event type(s) 'model.promoted'" in err and "Traceback" not in err
    code, _, err = _cli(sqlite_uri, "create", "--url", "http://127.0.0.1:9/x", "--events", "alias.set",
                        "--model", "churn")
    assert code == 1 and "needs a secret" in err
    code, _, err = _cli(sqlite_uri, "create", "--url", "gopher://x", "--events", "alias.set", "--secret-env",
                        "HOOK_SECRET")
    assert code == 1 and "scheme must be http or https" in err
    code, _, err = _cli(sqlite_uri, "test", "nope")
    assert code == 1 and "Webhook 'nope' does not exist" in err
    code, out, err = _cli(sqlite_uri, "create", "--url", "http://127.0.0.1:9/x", "--events", "alias.set",
                          "--model", "churn", "--secret-env", "HOOK_SECRET", "--output", "json")
    assert code == 0, err
    code, out, _ = _cli(sqlite_uri, "test", json.loads(out)["webhook_id"])
    assert code == 1 and "FAILED" in out and "ConnectError" in out
