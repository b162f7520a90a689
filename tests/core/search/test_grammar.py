"""The search grammar on its own: every operator, quoting, aliases, and errors with positions."""

from __future__ import annotations

import pytest
from lockgate.errors import InvalidArgument
from lockgate.search import (
    Comparison,
    OrderBy,
    parse_experiment_filter,
    parse_experiment_order_by,
    parse_model_version_filter,
    parse_model_version_order_by,
    parse_order_by,
    parse_order_by_list,
    parse_registered_model_filter,
    parse_registered_model_order_by,
    parse_run_filter,
    quote_string,
)


def one(text: str) -> Comparison:
    (clause,) = parse_run_filter(text)
    return clause


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metrics.loss = 1", Comparison("metric", "loss", "=", 1)),
        ("metrics.loss != 1.5", Comparison("metric", "loss", "!=", 1.5)),
        ("metrics.loss < -2", Comparison("metric", "loss", "<", -2)),
        ("metrics.loss <= 1e-3", Comparison("metric", "loss", "<=", 0.001)),
        ("metrics.loss > +.5", Comparison("metric", "loss", ">", 0.5)),
        ("metrics.loss >= -1.25E+2", Comparison("metric", "loss", ">=", -125.0)),
        ("metrics.loss IS NULL", Comparison("metric", "loss", "IS NULL", None)),
        ("metrics.loss is not null", Comparison("metric", "loss", "IS NOT NULL", None)),
        ("params.depth = '6'", Comparison("param", "depth", "=", "6")),
        ('params.depth != "6"', Comparison("param", "depth", "!=", "6")),
        ("params.model LIKE 'GPT%'", Comparison("param", "model", "LIKE", "GPT%")),
        ("params.model ilike 'gpt_4'", Comparison("param", "model", "ILIKE", "gpt_4")),
        ("params.model IN ('a', \"b\",'c')", Comparison("param", "model", "IN", ("a", "b", "c"))),
        ("params.model NOT IN ('a')", Comparison("param", "model", "NOT IN", ("a",))),
        ("params.model IS NULL", Comparison("param", "model", "IS NULL", None)),
        ("tags.team = 'risk'", Comparison("tag", "team", "=", "risk")),
        ("tags.team IS NOT NULL", Comparison("tag", "team", "IS NOT NULL", None)),
        ("attributes.status = 'FINISHED'", Comparison("attribute", "status", "=", "FINISHED")),
        ("status IN ('FAILED', 'KILLED')", Comparison("attribute", "status", "IN", ("FAILED", "KILLED"))),
        ("attributes.run_id IN ('a1')", Comparison("attribute", "run_id", "IN", ("a1",))),
        ("run_name LIKE 'fold-%'", Comparison("attribute", "run_name", "LIKE", "fold-%")),
        ("user_id = 'ana'", Comparison("attribute", "user_id", "=", "ana")),
        ("artifact_uri ILIKE 's3://%'", Comparison("attribute", "artifact_uri", "ILIKE", "s3://%")),
        ("lifecycle_stage = 'deleted'", Comparison("attribute", "lifecycle_stage", "=", "deleted")),
        ("start_time >= 1700000000000", Comparison("attribute", "start_time", ">=", 1700000000000)),
        ("attributes.end_time IS NULL", Comparison("attribute", "end_time", "IS NULL", None)),
        ("datasets.name = 'iris'", Comparison("dataset", "name", "=", "iris")),
        ("datasets.digest IN ('d1', 'd2')", Comparison("dataset", "digest", "IN", ("d1", "d2"))),
        ("datasets.context LIKE 'tr%'", Comparison("dataset", "context", "LIKE", "tr%")),
    ],
)
def test_every_operator(text: str, expected: Comparison) -> None:
    assert one(text) == expected


@pytest.mark.parametrize(
    ("text", "kind", "key"),
    [
        ("metric.x = 1", "metric", "x"),
        ("param.x = 'a'", "param", "x"),
        ("parameters.x = 'a'", "param", "x"),
        ("tag.x = 'a'", "tag", "x"),
        ("attribute.status = 'a'", "attribute", "status"),
        ("attr.status = 'a'", "attribute", "status"),
        ("run.status = 'a'", "attribute", "status"),
        ("dataset.name = 'a'", "dataset", "name"),
        ("METRICS.x = 1", "metric", "x"),
        ("created > 1", "attribute", "start_time"),
        ("attributes.Created > 1", "attribute", "start_time"),
        ("`Run name` = 'a'", "attribute", "run_name"),
        ('attributes."run name" = \'a\'', "attribute", "run_name"),
    ],
)
def test_prefix_and_attribute_aliases(text: str, kind: str, key: str) -> None:
    clause = one(text)
    assert (clause.kind, clause.key) == (kind, key)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("metrics.`cross-entropy loss` < 1", "cross-entropy loss"),
        ('metrics."f1 score" < 1', "f1 score"),
        ("metrics.`a``b` < 1", "a`b"),
        ("tags.mlflow.user = 'x'", "mlflow.user"),
        ("params.1st_iteration = 'x'", "1st_iteration"),
        ("params.a-b/c:d = 'x'", "a-b/c:d"),
        ("metrics.`AND` = 1", "AND"),
        ("metrics.日本 = 1", "日本"),
    ],
)
def test_quoted_and_special_keys(text: str, key: str) -> None:
    assert one(text).key == key


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("'plain'", "plain"),
        ('"double"', "double"),
        ("'it''s'", "it's"),
        ("'it\\'s'", "it's"),
        ('"say ""hi"""', 'say "hi"'),
        ("'back\\\\slash'", "back\\slash"),
        ("'50\\%'", "50\\%"),  # other escapes stay for the LIKE pattern
        ("''", ""),
        ("'  spaced  '", "  spaced  "),
        ("'AND metrics.x = 1'", "AND metrics.x = 1"),
        ("'ünïcødé €'", "ünïcødé €"),
    ],
)
def test_string_literals(literal: str, value: str) -> None:
    assert one(f"params.x = {literal}").value == value


def test_quote_string_round_trips() -> None:
    for value in ["", "a'b", 'a"b', "a\\b", "\\'", "x\\", "%_\\%", "''"]:
        assert one(f"params.x = {quote_string(value)}").value == value


def test_and_is_case_insensitive_and_whitespace_free() -> None:
    clauses = parse_run_filter("metrics.a<1 and params.b='x'AND tags.c = 'y'\n\tAnD status='S'")
    assert [c.kind for c in clauses] == ["metric", "param", "tag", "attribute"]
    assert parse_run_filter("") == [] and parse_run_filter(None) == [] and parse_run_filter("  \n") == []


def test_numbers_are_ints_or_floats() -> None:
    assert isinstance(one("metrics.x = 3").value, int)
    assert isinstance(one("metrics.x = 3.0").value, float)
    assert one("metrics.x = 1e999").value == float("inf")
    assert one("start_time = 99999999999999999999").value == 1e20  # too big for a 64-bit column


@pytest.mark.parametrize(
    ("text", "position", "token", "reason"),
    [
        ("metrics.loss foo 1", 13, "foo", "expected an operator"),
        ("metrics.loss < 0.05 and params.depth = 6", 39, "6", "expected a quoted string"),
        ("metrics.loss < '0.05'", 15, "'0.05'", "expected a number"),
        ("metrics.loss < abc", 15, "abc", "expected a number"),
        ("metrics.loss < 12abc", 15, "12abc", "expected a number"),
        ("foo.bar = 'x'", 0, "foo.bar", "unknown prefix 'foo.'"),
        ("bogus = 'x'", 0, "bogus", "unknown attribute 'bogus'"),
        ("datasets.size = 'x'", 9, "size", "unknown dataset field 'size'"),
        ("params.x < 'a'", 9, "<", "operator < is not supported for param 'x'"),
        ("metrics.x LIKE '1'", 10, "LIKE", "operator LIKE is not supported for metric 'x'"),
        ("start_time IN ('1')", 11, "IN", "operator IN is not supported"),
        ("datasets.name IS NULL", 14, "IS", "operator IS NULL is not supported"),
        ("metrics.x = 1 OR metrics.y = 2", 14, "OR", "OR is not supported"),
        ("metrics.x = 1 metrics.y = 2", 14, "metrics.y", "expected AND"),
        ("metrics.x = 1 and", 17, "", "expected a clause after AND"),
        ("metrics.x = 1 and and", 18, "and", "unknown attribute 'and'"),
        ("params.x = 'abc", 11, "'abc", "unterminated string"),
        ("metrics.`abc = 1", 8, "`abc = 1", "unterminated backtick"),
        ("params.x NOT LIKE 'a'", 13, "LIKE", "expected IN after NOT"),
        ("params.x IS 'a'", 12, "'a'", "expected NULL or NOT NULL"),
        ("params.x IS NOT 'a'", 16, "'a'", "expected NULL or NOT NULL"),
        ("params.x IN ()", 13, ")", "expected a quoted string"),
        ("params.x IN 'a'", 12, "'a'", "parenthesized list"),
        ("params.x IN ('a' 'b')", 17, "'b'", "expected ',' or ')'"),
        ("params.x IN ('a',", 17, "", "expected a quoted string"),
        ("params.x = `a`", 11, "`a`", "expected a quoted string"),
        ("params.x = a", 11, "a", "expected a quoted string"),
        ("metrics. = 1", 8, " ", "expected a key"),
        ("metrics.`` = 1", 8, "``", "the key is empty"),
        ("= 1", 0, "=", "expected an identifier"),
        ("metrics.x", 9, "", "expected an operator"),
        ("metrics.x =", 11, "", "expected a number"),
        ("metrics.x == 1", 11, "= 1", "expected a number"),
        ("(metrics.x = 1)", 0, "(", "expected an identifier"),
        ("metrics.x = 1;", 13, ";", "expected AND"),
    ],
)
def test_errors_name_position_and_token(text: str, position: int, token: str, reason: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_run_filter(text)
    err = info.value
    assert err.details["position"] == position, err.message
    assert reason in err.message
    assert f"at position {position}" in err.message
    if token.strip():
        assert err.details["token"].startswith(token.split()[0]), err.message
        assert repr(err.details["token"]) in err.message
    elif token == "":
        assert "(end of input)" in err.message
    assert err.code == "INVALID_PARAMETER_VALUE"


def test_error_message_format_matches_the_contract() -> None:
    with pytest.raises(InvalidArgument, match=r"^Invalid filter at position 14 near 'foo': expected an operator"):
        parse_run_filter("metrics.loss  foo 0.1")


def test_filter_must_be_a_string() -> None:
    with pytest.raises(InvalidArgument, match="must be a string"):
        parse_run_filter(42)  # type: ignore[arg-type]


# ----------------------------------------------------------------- order_by
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metrics.loss", OrderBy("metric", "loss", True)),
        ("metrics.loss ASC", OrderBy("metric", "loss", True)),
        ("metrics.loss desc", OrderBy("metric", "loss", False)),
        ("params.`learning rate` DESC", OrderBy("param", "learning rate", False)),
        ('tags."a.b" asc', OrderBy("tag", "a.b", True)),
        ("attributes.start_time DESC", OrderBy("attribute", "start_time", False)),
        ("start_time", OrderBy("attribute", "start_time", True)),
        ("created DESC", OrderBy("attribute", "start_time", False)),
        ("run_name", OrderBy("attribute", "run_name", True)),
        ("attribute.run_id", OrderBy("attribute", "run_id", True)),
        ("  end_time   DESC  ", OrderBy("attribute", "end_time", False)),
    ],
)
def test_order_by(text: str, expected: OrderBy) -> None:
    assert parse_order_by(text) == expected


@pytest.mark.parametrize(
    ("text", "position", "reason"),
    [
        ("", 0, "expected an identifier"),
        ("metrics.loss up", 13, "expected ASC, DESC"),
        ("metrics.loss ASC DESC", 17, "expected the end"),
        ("datasets.name", 0, "cannot order by dataset field 'name'"),
        ("bogus DESC", 0, "unknown attribute 'bogus'"),
        ("metrics.loss, params.x", 12, "expected ASC, DESC"),
    ],
)
def test_order_by_errors(text: str, position: int, reason: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_order_by(text)
    assert info.value.message.startswith(f"Invalid order_by clause at position {position}")
    assert reason in info.value.message


def test_order_by_list_rejects_repeats() -> None:
    assert parse_order_by_list(["metrics.a", "params.a DESC"]) == [
        OrderBy("metric", "a", True),
        OrderBy("param", "a", False),
    ]
    with pytest.raises(InvalidArgument, match="appears twice"):
        parse_order_by_list(["created", "start_time DESC"])


# -------------------------------------------------------- other grammars
def test_experiment_grammar() -> None:
    assert parse_experiment_filter("name LIKE 'churn%' and tags.team = 'risk' and creation_time > 5") == [
        Comparison("attribute", "name", "LIKE", "churn%"),
        Comparison("tag", "team", "=", "risk"),
        Comparison("attribute", "creation_time", ">", 5),
    ]
    assert parse_experiment_filter("attributes.last_update_time <= 7 and tags.x IS NULL")[1].op == "IS NULL"
    assert parse_experiment_order_by(["name", "last_update_time DESC", "experiment_id"]) == [
        OrderBy("attribute", "name", True),
        OrderBy("attribute", "last_update_time", False),
        OrderBy("attribute", "experiment_id", True),
    ]
    with pytest.raises(InvalidArgument, match="unknown prefix 'metrics.'"):
        parse_experiment_filter("metrics.x > 1")
    with pytest.raises(InvalidArgument, match="operator > is not supported for attribute 'name'"):
        parse_experiment_filter("name > 'a'")
    with pytest.raises(InvalidArgument, match="cannot order by tag"):
        parse_experiment_order_by(["tags.x"])


def test_registered_model_grammar() -> None:
    assert parse_registered_model_filter("name = 'churn' and tags.`owner team` ILIKE '%risk%'") == [
        Comparison("attribute", "name", "=", "churn"),
        Comparison("tag", "owner team", "ILIKE", "%risk%"),
    ]
    assert parse_registered_model_order_by(["timestamp DESC", "name"]) == [
        OrderBy("attribute", "creation_timestamp", False),
        OrderBy("attribute", "name", True),
    ]
    with pytest.raises(InvalidArgument, match="unknown attribute 'run_id'"):
        parse_registered_model_filter("run_id = 'x'")


def test_model_version_grammar() -> None:
    assert parse_model_version_filter(
        "name = 'm' and run_id IN ('a', 'b') and source_path LIKE 's3://%' and version_number >= 2 and tags.x != 'y'"
    ) == [
        Comparison("attribute", "name", "=", "m"),
        Comparison("attribute", "run_id", "IN", ("a", "b")),
        Comparison("attribute", "source_path", "LIKE", "s3://%"),
        Comparison("attribute", "version_number", ">=", 2),
        Comparison("tag", "x", "!=", "y"),
    ]
    assert parse_model_version_order_by(["version_number DESC"]) == [OrderBy("attribute", "version_number", False)]
    with pytest.raises(InvalidArgument, match="expected a number for attribute 'version_number'"):
        parse_model_version_filter("version_number = '2'")
