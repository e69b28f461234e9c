"""The Grafana dashboard only queries metrics the service really exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import yaml

from app.core.config import Settings
from app.main import create_app
from tests.factories import ScriptedEngine

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "grafana"
_HISTOGRAM_SUFFIX = re.compile(r"_(bucket|sum|count)$")


def _queried_metrics() -> set[str]:
    names: set[str] = set()
    for path in (DEPLOY / "dashboards").glob("*.json"):
        dashboard = json.loads(path.read_text())
        exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
        exprs += [
            v["query"]["query"]
            for v in dashboard["templating"]["list"]
            if isinstance(v.get("query"), dict)
        ]
        for expr in exprs:
            names.update(re.findall(r"\bmore_[a-z_]+", expr))
    return names


async def test_dashboard_metrics_exist_on_metrics_endpoint(tmp_path: Path) -> None:
    queried = _queried_metrics()
    assert len(queried) >= 8
    settings = Settings(MORE_DATA_DIR=tmp_path, _env_file=None)  # type: ignore[call-arg]
    app = create_app(settings, engine=ScriptedEngine())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    text = response.text
    exported = set(re.findall(r"^# TYPE (\S+) ", text, flags=re.MULTILINE))
    missing = {
        name
        for name in queried
        if name not in exported and _HISTOGRAM_SUFFIX.sub("", name) not in exported
    }
    assert not missing, f"dashboard queries metrics /metrics does not export: {missing}"


def test_grafana_provisioning_files_parse() -> None:
    datasource = yaml.safe_load((DEPLOY / "provisioning/datasources/prometheus.yml").read_text())
    assert datasource["datasources"][0]["type"] == "prometheus"
    provider = yaml.safe_load((DEPLOY / "provisioning/dashboards/more.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    for path in (DEPLOY / "dashboards").glob("*.json"):
        dashboard = json.loads(path.read_text())
        ids = [p["id"] for p in dashboard["panels"]]
        assert len(ids) == len(set(ids)), path


def test_grafana_is_wired_into_compose() -> None:
    compose = yaml.safe_load((DEPLOY.parents[1] / "docker-compose.yml").read_text())
    grafana = compose["services"]["grafana"]
    mounts = " ".join(grafana["volumes"])
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning" in mounts
    assert "./deploy/grafana/dashboards:/var/lib/grafana/dashboards" in mounts
    assert grafana["depends_on"]["prometheus"]["condition"] == "service_healthy"
    prometheus = yaml.safe_load((DEPLOY.parent / "prometheus.yml").read_text())
    datasource = yaml.safe_load((DEPLOY / "provisioning/datasources/prometheus.yml").read_text())
    port = compose["services"]["prometheus"]["ports"][0].split(":")[-1]
    assert datasource["datasources"][0]["url"] == f"http://prometheus:{port}"
    assert prometheus["scrape_configs"]
