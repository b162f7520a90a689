"""The web UI in a real browser (Debian chromium via Playwright) against a live server whose
data was logged through the client over REST: what a user sees, read back from the page."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from ui_support import BrowserPage, UiServer

EVIL_NAME = "<script>alert(1)</script> \"quoted\" 'single' 🚀"


def _metric(key: str, value: float, step: int) -> Any:
    from lockgate.entities import Metric

    return Metric(key=key, value=value, timestamp=1_700_000_000_000 + step * 1000, step=step)


@pytest.fixture(scope="module")
def ui(start_ui_server: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A server with one experiment of varied runs, nested runs, artifacts and bad names."""
    from lockgate.client import LockgateClient

    tmp = tmp_path_factory.mktemp("ui-data")
    server: UiServer = start_ui_server(backend_store_uri=f"sqlite:///{tmp / 'ui.db'}",
                                       artifacts_destination=str(tmp / "artifacts"))
    client = LockgateClient(tracking_uri=server.url, user="alice")
    exp = client.create_experiment("ui-demo")
    ids: dict[str, str] = {}

    def run(name: str, *, params: dict[str, Any], loss: list[float], tags: dict[str, str] | None = None,
            parent: str | None = None) -> str:
        r = client.create_run(exp, run_name=name, tags=tags, parent_run_id=parent, context_tags=False)
        rid = r.info.run_id
        client.log_params(rid, params)
        client.log_batch(rid, metrics=[_metric("loss", v, i) for i, v in enumerate(loss)]
                         + [_metric("accuracy", 1 - loss[-1], len(loss) - 1)])
        client.set_terminated(rid, "FINISHED")
        ids[name] = rid
        return rid

    run("alpha", params={"lr": "0.1", "depth": "3"}, loss=[1.0 - i * 0.02 for i in range(50)],
        tags={"mlflow.source.name": "train.py"})
    run("beta", params={"lr": "0.01", "depth": "6"}, loss=[0.9 - i * 0.01 for i in range(50)])
    run("gamma", params={"lr": "0.05", "depth": "3"}, loss=[0.8, 0.7, 0.65],
        tags={"lockgate.orchestrator": "airflow", "lockgate.airflow.dag_id": "train_dag",
              "lockgate.airflow.task_id": "fit"})
    run(EVIL_NAME, params={"lr": "<b>bold</b>", "depth": "\"9\""}, loss=[0.5],
        tags={"note": "<img src=x onerror=alert(2)>"})
    sweep = run("sweep", params={"lr": "0.2", "depth": "1"}, loss=[0.95])
    run("child-1", params={"lr": "0.3", "depth": "2"}, loss=[0.6], parent=sweep)
    run("child-2", params={"lr": "0.4", "depth": "2"}, loss=[0.61], parent=sweep)
    doomed = run("doomed", params={"lr": "0.9", "depth": "9"}, loss=[0.99])
    client.delete_run(doomed)

    wide = client.create_run(exp, run_name="wide", context_tags=False).info.run_id
    client.log_batch(wide, metrics=[_metric(f"m{i:04d}", float(i), 0) for i in range(5000)])
    ids["wide"] = wide
    client.log_input(ids["alpha"], name="train-set", digest="abc123", source="s3://data/train.csv",
                     context="training")

    alpha = ids["alpha"]
    client.log_text(alpha, "hello from alpha\n", "notes.txt")
    client.log_dict(alpha, {"layers": [64, 32], "name": "<tag>"}, "config.json")
    client.log_text(alpha, "a,b\n1,2\n3,4\n", "table.csv")
    client.log_text(alpha, "<html><script>window.__pwned = 1</script><h1>hi</h1></html>", "report.html")
    client.log_text(alpha, "flavors:\n  python_function: {}\n  sklearn: {}\nsignature:\n  inputs: '[x]'\n",
                    "model/MLmodel")
    import pyarrow as pa
    import pyarrow.parquet as pq
    from PIL import Image

    buf = io.BytesIO()
    pq.write_table(pa.table({"x": [1, 2, 3], "y": ["p", "q", "r"]}), buf)
    local = tmp / "files"
    local.mkdir()
    (local / "data.parquet").write_bytes(buf.getvalue())
    Image.new("RGB", (40, 20), (200, 30, 30)).save(local / "plot.png")
    client.log_artifact(alpha, local / "data.parquet")
    client.log_artifact(alpha, local / "plot.png")

    client.create_registered_model("churn <model>")
    client.create_model_version("churn <model>", source=f"runs:/{alpha}/model", run_id=alpha)
    client.set_registered_model_alias("churn <model>", "champion", 1)

    gone = client.create_experiment("gone-exp")
    client.delete_experiment(gone)
    return {"server": server, "url": server.url, "client": client, "exp": exp, "ids": ids, "gone": gone}


def _wait_rows(page: Any, count: int | None = None) -> list[str]:
    page.wait_for_selector("[data-testid=runs-table] tbody tr[data-run-id]")
    if count is not None:
        page.wait_for_function(
            "n => document.querySelectorAll('[data-testid=runs-table] tbody tr[data-run-id]').length === n", arg=count)
    return [t.strip() for t in page.locator("[data-testid=runs-table] tbody tr[data-run-id] td.name a").all_inner_texts()]


def _canvas_has_ink(page: Any, selector: str, rgb: tuple[int, int, int] = (37, 99, 235)) -> bool:
    """True once a canvas under ``selector`` has pixels of a series colour (default #2563eb,
    the first run's): grid lines and axes alone do not count as a drawn chart."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function("""([sel, rgb]) => [...document.querySelectorAll(sel)].some(c => {
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let hits = 0;
            for (let i = 0; i < d.length; i += 4) {
                if (d[i + 3] > 100 && Math.abs(d[i] - rgb[0]) < 40 && Math.abs(d[i + 1] - rgb[1]) < 40
                    && Math.abs(d[i + 2] - rgb[2]) < 40) hits++;
            }
            return hits >= 5; })""", arg=[selector, list(rgb)], timeout=10_000)
    except PlaywrightTimeout:
        return False
    return True


def test_experiments_page_lists_experiments_with_run_counts(ui: dict[str, Any], open_page: Any) -> None:
    bp: BrowserPage = open_page(ui["url"])
    page = bp.goto("/")
    table = page.locator("[data-testid=experiments-table]")
    row = table.locator("tbody tr", has_text="ui-demo")
    row.wait_for()
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=experiments-table] tbody tr')]"
                           ".some(r => r.cells[2].textContent === '8')")
    cells = row.locator("td").all_inner_texts()
    assert cells[0] == "ui-demo" and cells[1] == ui["exp"] and cells[2] == "8"
    assert "gone-exp" not in table.inner_text()
    page.get_by_label("Search experiments").fill("defau")
    page.wait_for_function("() => !document.querySelector('[data-testid=experiments-table]').textContent.includes('ui-demo')")
    assert "Default" in table.inner_text()
    bp.screenshot("experiments")
    bp.assert_no_js_errors()


def _names_in_order(page: Any) -> list[str]:
    return [t.strip() for t in page.locator("[data-testid=runs-table] tbody tr[data-run-id] td.name a").all_inner_texts()]


def _wait_first(page: Any, name: str) -> None:
    page.wait_for_function(
        "n => { const a = document.querySelector('[data-testid=runs-table] tbody tr[data-run-id] td.name a');"
        " return a && a.textContent === n; }", arg=name)


def test_runs_table_shows_sorts_and_filters_runs(ui: dict[str, Any], open_page: Any) -> None:
    bp: BrowserPage = open_page(ui["url"])
    page = bp.goto(f"/experiments/{ui['exp']}")
    names = _wait_rows(page, 6)  # 8 active runs, two of them folded under their parent
    assert set(names) == {"alpha", "beta", "gamma", EVIL_NAME, "sweep", "wide"}
    assert "doomed" not in names and "child-1" not in names
    # metric and param columns were picked by default and show the logged values
    alpha = page.locator(f"tr[data-run-id='{ui['ids']['alpha']}']")
    assert "0.02" in alpha.inner_text() and "0.1" in alpha.inner_text() and "train.py" in alpha.inner_text()
    gamma = page.locator(f"tr[data-run-id='{ui['ids']['gamma']}']")
    assert "Airflow train_dag / fit" in gamma.inner_text()
    bp.screenshot("runs-table")

    page.locator("th", has_text="loss").get_by_role("button").click()
    _wait_first(page, "sweep")  # highest latest loss (0.95) first
    assert page.locator("th[aria-sort=descending]", has_text="loss").count() == 1
    page.locator("th", has_text="loss").get_by_role("button").click()
    _wait_first(page, "alpha")  # lowest loss (0.02) first
    ordered = [n for n in _names_in_order(page) if n != "wide"]
    assert ordered == ["alpha", "beta", EVIL_NAME, "gamma", "sweep"]  # 0.02, 0.41, 0.5, 0.65, 0.95

    page.get_by_label("Filter runs").fill("params.depth = '3'")
    page.get_by_role("button", name="Search").click()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=runs-table] tbody tr[data-run-id]').length === 2")
    assert sorted(_names_in_order(page)) == ["alpha", "gamma"]
    assert "filter=params.depth" in page.url  # the filter is part of the shareable URL
    bp.assert_no_js_errors()


def test_filter_syntax_error_is_shown_inline_with_its_position(ui: dict[str, Any], open_page: Any) -> None:
    bp: BrowserPage = open_page(ui["url"])
    page = bp.goto(f"/experiments/{ui['exp']}")
    _wait_rows(page, 6)
    page.get_by_label("Filter runs").fill("metrics.loss < and")
    page.get_by_label("Filter runs").press("Enter")
    error = page.get_by_test_id("runs-error")
    error.wait_for()
    assert "position 15" in error.inner_text()
    assert len(_names_in_order(page)) == 6  # the last good results stay
    bp.screenshot("runs-filter-error")
    bp.assert_no_js_errors(allow_http_errors=True)


def test_sorting_on_a_key_no_run_has_still_lists_every_run(ui: dict[str, Any], open_page: Any) -> None:
    bp: BrowserPage = open_page(ui["url"])
    page = bp.goto(f"/experiments/{ui['exp']}?sort=metrics.%60no%20such%20key%60%20DESC")
    names = _wait_rows(page, 6)
    assert "alpha" in names and "beta" in names
    assert not page.get_by_test_id("runs-error").count()
    bp.assert_no_js_errors()


def test_nested_runs_fold_under_their_parent_and_keyboard_moves_rows(ui: dict[str, Any], open_page: Any) -> None:
    bp: BrowserPage = open_page(ui["url"])
    page = bp.goto(f"/experiments/{ui['exp']}?sort=attributes.run_name%20ASC")
    names = _wait_rows(page, 6)
    assert names == sorted(names, key=lambda n: n)  # run_name ascending, as the server sorted it
    sweep = page.locator(f"tr[data-run-id='{ui['ids']['sweep']}']")
    sweep.get_by_role("button", name="Expand 2 child runs").click()
    names = _wait_rows(page, 8)
    at = names.index("sweep")
    assert names[at + 1: at + 3] == ["child-1", "child-2"]
    # keyboard: the first row takes focus, arrows move, Space selects, Enter opens the run
    first = page.locator("[data-testid=runs-table] tbody tr[data-run-id]").first
    first.focus()
    page.keyboard.press("ArrowDown")
    page.wait_for_function("() => document.activeElement.dataset.index === '1'")
    second_id = page.evaluate("() => document.activeElement.dataset.runId")
    assert second_id == page.locator("[data-testid=runs-table] tbody tr[data-run-id]").nth(1).get_attribute("data-run-id")
    page.keyboard.press(" ")
    assert page.get_by_role("link", name="Compare (1)").count() == 1
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/runs/{second_id}")
    page.get_by_test_id("run-name").wait_for()
    bp.assert_no_js_errors()


def test_names_with_markup_quotes_and_emoji_render_as_text(ui: dict[str, Any], open_page: Any) -> None:
    bp: BrowserPage = open_page(ui["url"])
    rid = ui["ids"][EVIL_NAME]
    page = bp.goto(f"/experiments/{ui['exp']}")
    _wait_rows(page, 6)
    row = page.locator(f"tr[data-run-id='{rid}']")
    assert row.locator("td.name a").inner_text() == EVIL_NAME
    page = bp.goto(f"/runs/{rid}")
    assert page.get_by_test_id("run-name").inner_text() == EVIL_NAME
    assert "<b>bold</b>" in page.get_by_test_id("params-table").inner_text()
    assert "<img src=x onerror=alert(2)>" in page.get_by_test_id("tags-table").inner_text()
    assert page.locator("main script, main img[src=x], main b").count() == 0
    assert page.evaluate("() => window.__pwned") is None
    bp.assert_no_js_errors()


def test_run_page_shows_params_metrics_chart_tags_and_datasets(ui: dict[str, Any], open_page: Any) -> None:
    bp: BrowserPage = open_page(ui["url"])
    page = bp.goto(f"/runs/{ui['ids']['alpha']}")
    assert page.get_by_test_id("run-name").inner_text() == "alpha"
    info = page.get_by_test_id("run-info").inner_text()
    assert "FINISHED" in info and "alice" in info and "train.py" in info
    params = page.get_by_test_id("params-table")
    assert params.locator("tr", has_text="lr").locator("td").inner_text() == "0.1"
    metrics = page.get_by_test_id("metrics-table")
    assert metrics.locator("tr", has_text="loss").locator("td").inner_text() == "0.02"
    assert metrics.locator("tr", has_text="accuracy").locator("td").inner_text() == "0.98"
    page.locator("[data-testid='chart-loss'] canvas").first.wait_for()
    page.wait_for_function("() => document.querySelector('[data-testid=chart-loss] .u-title, [data-testid=chart-loss] canvas')")
    assert _canvas_has_ink(page, "[data-testid='chart-loss'] canvas")
    assert "50 points" in page.locator("figure", has_text="loss").first.inner_text()
    assert "train-set" in page.get_by_test_id("datasets-table").inner_text()
    assert "training" in page.get_by_test_id("datasets-table").inner_text()
    version = page.get_by_test_id("versions-table").locator("tbody tr", has_text="churn <model>")
    version.wait_for()
    assert version.locator("td").all_inner_texts()[:3] == ["churn <model>", "1", "@champion"]
    bp.screenshot("run")
    bp.assert_no_js_errors()


def _open_artifact(page: Any, name: str) -> Any:
    page.get_by_role("tree").get_by_role("button", name=name, exact=True).click()
    preview = page.get_by_test_id("artifact-preview")
    preview.locator("strong", has_text=name).wait_for()
    return preview


def test_artifact_browser_previews_each_kind_and_never_runs_html(ui: dict[str, Any], open_page: Any) -> None:
    bp: BrowserPage = open_page(ui["url"])
    page = bp.goto(f"/runs/{ui['ids']['alpha']}")
    page.get_by_role("tree").wait_for()
    assert _open_artifact(page, "notes.txt").get_by_test_id("preview-text").inner_text() == "hello from alpha\n"
    assert '"<tag>"' in _open_artifact(page, "config.json").get_by_test_id("preview-text").inner_text()
    table = _open_artifact(page, "table.csv").get_by_test_id("preview-table")
    assert table.locator("thead").inner_text().split() == ["a", "b"]
    assert table.locator("tbody tr").nth(1).inner_text().split() == ["3", "4"]
    parquet = _open_artifact(page, "data.parquet").get_by_test_id("preview-table")
    assert parquet.locator("tbody tr").nth(2).inner_text().split() == ["3", "r"]
    image = _open_artifact(page, "plot.png").get_by_test_id("preview-image")
    page.wait_for_function("() => { const i = document.querySelector('[data-testid=preview-image]'); return i && i.naturalWidth === 40; }")
    assert image.get_attribute("src").startswith("blob:")
    html = _open_artifact(page, "report.html").get_by_test_id("preview-text").inner_text()
    assert "<script>window.__pwned = 1</script>" in html
    assert page.evaluate("() => window.__pwned") is None
    assert page.locator("iframe").count() == 0
    page.get_by_role("tree").get_by_role("button", name="▸ model").click()
    summary = _open_artifact(page, "MLmodel").get_by_test_id("mlmodel-summary").inner_text()
    assert "python_function, sklearn" in summary
    bp.screenshot("run-artifacts")
    with page.expect_download() as download:
        _open_artifact(page, "notes.txt").get_by_role("button", name="Download").click()
    assert download.value.suggested_filename == "notes.txt"
    assert Path(download.value.path()).read_text(encoding="utf-8") == "hello from alpha\n"
    bp.assert_no_js_errors()


def test_artifact_api_refuses_traversal_and_serves_html_inert(ui: dict[str, Any]) -> None:
    base = f"{ui['url']}/api/v1/runs/{ui['ids']['alpha']}/artifacts"
    for path in ("../../etc/passwd", "%2e%2e/%2e%2e/etc/passwd", "/etc/passwd"):
        for endpoint in ("/preview", "/file", ""):
            resp = httpx.get(base + endpoint, params={"path": path})
            assert resp.status_code == 400, (endpoint, path, resp.text)
            assert "not allowed" in resp.json()["message"]
    resp = httpx.get(base + "/file", params={"path": "report.html"})
    assert resp.status_code == 200 and b"__pwned" in resp.content
    assert resp.headers["content-type"] == "application/octet-stream"
    assert resp.headers["content-disposition"].startswith("attachment")
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in resp.headers["content-security-policy"]
    png = httpx.get(base + "/file", params={"path": "plot.png"})
    assert png.headers["content-type"] == "image/png" and png.headers["content-disposition"].startswith("inline")


def test_run_with_5000_metric_keys_stays_usable(ui: dict[str, Any], open_page: Any) -> None:
    bp: BrowserPage = open_page(ui["url"])
    page = bp.goto(f"/runs/{ui['ids']['wide']}")
    metrics = page.get_by_test_id("metrics-table")
    assert "Metrics (5000)" in metrics.locator("caption").inner_text()
    # each chart's series is sampled on its own request, so the charts appear one by one
    page.wait_for_function("() => document.querySelectorAll('.chart-card canvas').length >= 12")
    assert page.locator(".chart-card").count() == 12
    page.get_by_label("Find metrics").fill("m4999")
    page.wait_for_function("() => document.querySelectorAll('[data-testid=metrics-table] tbody tr').length === 1")
    assert metrics.locator("tbody tr td").inner_text() == "4999"
    bp.screenshot("run-5000-metrics")
    bp.assert_no_js_errors()


def test_compare_page_table_charts_parallel_coordinates_and_scatter(ui: dict[str, Any], open_page: Any) -> None:
    bp: BrowserPage = open_page(ui["url"])
    page = bp.goto(f"/experiments/{ui['exp']}?sort=attributes.run_name%20ASC")
    _wait_rows(page, 6)
    for name in ("alpha", "beta", "gamma"):
        page.get_by_label(f"Select {name}", exact=True).check()
    page.get_by_role("link", name="Compare (3)").click()
    page.wait_for_url("**/compare?runs=*")
    table = page.get_by_test_id("compare-table")
    table.wait_for()
    rows = table.locator("tbody tr:not(.spacer)")
    assert sorted(rows.locator("th").all_inner_texts()) == ["alpha", "beta", "gamma"]
    assert table.locator("th[data-differs=true]", has_text="param lr").count() == 1
    assert table.locator("th[data-differs=true]", has_text="metric loss").count() == 1
    page.locator("[data-testid=compare-chart] canvas").first.wait_for()
    page.get_by_label("Metric", exact=True).select_option("loss")
    assert _canvas_has_ink(page, "[data-testid=compare-chart] canvas")
    assert _canvas_has_ink(page, "[data-testid=compare-chart] canvas", (220, 38, 38))  # the second run's line
    assert _canvas_has_ink(page, "[data-testid=parallel-coords]")
    page.locator("[data-testid=scatter] canvas").first.wait_for()
    assert _canvas_has_ink(page, "[data-testid=scatter] canvas")
    page.get_by_label("X axis").select_option("relative")
    page.get_by_label("Log scale").check()
    page.locator("[data-testid=compare-chart] canvas").first.wait_for()
    assert _canvas_has_ink(page, "[data-testid=compare-chart] canvas")
    bp.screenshot("compare")
    bp.assert_no_js_errors()


def test_compare_key_pickers_keep_thousands_of_keys_out_of_the_dom(ui: dict[str, Any], open_page: Any) -> None:
    bp: BrowserPage = open_page(ui["url"])
    page = bp.goto(f"/compare?runs={ui['ids']['alpha']},{ui['ids']['wide']}")
    page.locator("[data-testid=compare-chart] canvas").first.wait_for()
    metric = page.get_by_label("Metric", exact=True)
    # 5,002 metric keys, 200 options (the chosen one among them)
    assert metric.locator("option").count() == 200
    assert page.get_by_label("X", exact=True).locator("option").count() <= 201
    page.get_by_label("Find metric keys").fill("m4999")
    page.wait_for_function("() => document.querySelectorAll('#cmp-metric option').length === 2")
    assert metric.locator("option").all_inner_texts() == ["accuracy", "m4999"]
    metric.select_option("m4999")
    page.locator("[data-testid=compare-chart] canvas").first.wait_for()
    assert _canvas_has_ink(page, "[data-testid=compare-chart] canvas")
    bp.assert_no_js_errors()


def test_deep_links_and_mlflow_hash_links_land_on_the_same_pages(ui: dict[str, Any], open_page: Any) -> None:
    bp: BrowserPage = open_page(ui["url"])
    rid, exp = ui["ids"]["beta"], ui["exp"]
    for path in (f"/runs/{rid}", f"/#/experiments/{exp}/runs/{rid}"):
        page = bp.goto(path)
        assert page.get_by_test_id("run-name").inner_text() == "beta"
        assert page.url == f"{ui['url']}/runs/{rid}"
    for path in (f"/experiments/{exp}", f"/#/experiments/{exp}"):
        page = bp.goto(path)
        page.get_by_role("heading", name="ui-demo").wait_for()
        assert page.url.startswith(f"{ui['url']}/experiments/{exp}")
    page = bp.goto(f"/#/compare-runs?runs=[\"{rid}\"]&experiments=[\"{exp}\"]")
    page.get_by_test_id("compare-table").wait_for()
    assert page.get_by_role("heading", name="Compare 1 runs").count() == 1
    # back and forward through the app's own navigation
    page = bp.goto(f"/experiments/{exp}")
    page.get_by_role("link", name="beta", exact=True).click()
    page.get_by_test_id("run-name").wait_for()
    page.go_back()
    page.get_by_role("heading", name="ui-demo").wait_for()
    page.go_forward()
    assert page.get_by_test_id("run-name").inner_text() == "beta"
    resp = httpx.get(f"{ui['url']}/runs/{rid}")
    assert resp.status_code == 200 and "text/html" in resp.headers["content-type"]
    csp = resp.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "<script>" not in resp.text  # no inline script: only <script src=...>
    unknown = httpx.get(f"{ui['url']}/api/v1/nothing-here")
    assert unknown.status_code == 404 and unknown.headers["content-type"] == "application/json"
    bp.assert_no_js_errors()


def test_missing_and_deleted_pages_say_so_and_deleted_runs_can_be_restored(ui: dict[str, Any], open_page: Any) -> None:
    bp: BrowserPage = open_page(ui["url"])
    page = bp.goto("/no/such/page")
    assert page.get_by_test_id("notfound-message").inner_text() == "This page does not exist."
    bp.screenshot("not-found")
    missing = "0" * 32
    page = bp.goto(f"/runs/{missing}")
    assert page.get_by_test_id("notfound-message").inner_text() == f"Run {missing} does not exist."
    page = bp.goto("/runs/not-a-run-id")
    assert "does not exist" in page.get_by_test_id("notfound-message").inner_text()
    page = bp.goto("/experiments/987654")
    assert page.get_by_test_id("notfound-message").inner_text() == "Experiment 987654 does not exist."
    page = bp.goto(f"/experiments/{ui['gone']}")
    assert page.get_by_test_id("deleted-message").inner_text() == "This experiment was deleted."
    doomed = ui["ids"]["doomed"]
    page = bp.goto(f"/runs/{doomed}")
    banner = page.get_by_test_id("deleted-message")
    assert banner.inner_text().startswith("This run was deleted.")
    bp.screenshot("run-deleted")
    banner.get_by_role("button", name="Restore run").click()
    banner.wait_for(state="detached")
    assert ui["client"].get_run(doomed).info.lifecycle_stage.value == "active"
    ui["client"].delete_run(doomed)
    bp.assert_no_js_errors(allow_http_errors=True)


def test_dark_theme_follows_the_system_setting(ui: dict[str, Any], open_page: Any) -> None:
    bp: BrowserPage = open_page(ui["url"], color_scheme="dark")
    page = bp.goto(f"/runs/{ui['ids']['alpha']}")
    page.get_by_test_id("run-name").wait_for()
    page.locator("[data-testid='chart-loss'] canvas").first.wait_for()
    assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") == "rgb(13, 17, 23)"
    bp.screenshot("run-dark")
    light: BrowserPage = open_page(ui["url"], color_scheme="light")
    assert light.goto("/").evaluate("() => getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
    bp.assert_no_js_errors()


def test_column_chooser_searches_thousands_of_keys(ui: dict[str, Any], open_page: Any) -> None:
    bp: BrowserPage = open_page(ui["url"])
    page = bp.goto(f"/experiments/{ui['exp']}")
    _wait_rows(page, 6)
    page.get_by_role("button", name="Columns (6)").click()
    chooser = page.get_by_role("dialog", name="Choose columns")
    chooser.get_by_text("More keys match: type to narrow the list.").wait_for()
    assert chooser.locator("fieldset", has_text="metrics").locator("li").count() == 200  # never all 5,002
    bp.screenshot("runs-column-chooser")
    chooser.get_by_label("Find keys").fill("m4999")
    chooser.get_by_label("m4999").check()
    chooser.get_by_role("button", name="Done").click()
    header = page.locator("[data-testid=runs-table] thead th", has_text="m4999")
    header.wait_for()
    cells = page.locator("[data-testid=runs-table] thead th").all_inner_texts()
    column = [c.strip() for c in cells].index("m4999")
    wide = page.locator(f"tr[data-run-id='{ui['ids']['wide']}'] td")
    page.wait_for_function("([id, i]) => { const r = document.querySelector(`tr[data-run-id='${id}']`);"
                           " return r && r.cells[i] && r.cells[i].textContent === '4999'; }", arg=[ui["ids"]["wide"], column])
    assert wide.nth(column).inner_text() == "4999"
    assert "m4999" in page.url  # the chosen columns are part of the shareable URL
    bp.assert_no_js_errors()
