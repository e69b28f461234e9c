"""Experiment admin: define, ramp, start and stop the caller's storefront's A/B tests
between versions of the shared policy registry, and read their report."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from app.api.deps import AdminDep, ExperimentsDep
from app.api.outcome_schemas import (
    NAME_PATTERN,
    ExperimentCreateRequest,
    ExperimentListResponse,
    ExperimentReportResponse,
    ExperimentResponse,
    ExperimentUpdateRequest,
    VariantResponse,
)
from app.api.schemas import ErrorResponse
from app.services.assignment import ExperimentStatus
from app.services.experiments import VariantInput, effective_shares
from app.services.report_rendering import plot_report, report_markdown
from app.store.experiments import ExperimentRecord

router = APIRouter(
    prefix="/v1/experiments",
    tags=["experiments"],
    responses={
        401: {"model": ErrorResponse, "description": "Missing or invalid API key."},
        403: {"model": ErrorResponse, "description": "Needs an admin key."},
        422: {"model": ErrorResponse, "description": "Invalid experiment or weights."},
    },
)

NamePath = Annotated[
    str, Path(min_length=1, max_length=64, pattern=NAME_PATTERN, examples=["sft-vs-more"])
]
_NOT_FOUND = {
    404: {"model": ErrorResponse, "description": "No such experiment in your storefront."}
}


def _response(record: ExperimentRecord) -> ExperimentResponse:
    shares = effective_shares(record)
    return ExperimentResponse(
        name=record.name,
        salt=record.salt,
        status=record.status,  # type: ignore[arg-type]
        allocation_version=record.allocation_version,
        variants=[
            VariantResponse(
                name=v.name,
                weight=v.weight,
                share=shares[v.name],
                policy_version=v.policy_version,
                control=v.position == 0,
            )
            for v in record.variants
        ],
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


@router.post(
    "",
    response_model=ExperimentResponse,
    status_code=status.HTTP_201_CREATED,
    responses={
        409: {
            "model": ErrorResponse,
            "description": "The name exists, another experiment is running, two variants "
            "share a name, a policy version is not registered, or every weight is zero.",
        }
    },
)
async def create_experiment(
    body: ExperimentCreateRequest, principal: AdminDep, experiments: ExperimentsDep
) -> ExperimentResponse:
    """Define an experiment (variants point at registered policy versions)."""
    record = await experiments.create(
        principal=principal,
        name=body.name,
        salt=body.salt,
        status=ExperimentStatus(body.status),
        variants=[VariantInput(v.name, v.weight, v.policy_version) for v in body.variants],
    )
    return _response(record)


@router.get("", response_model=ExperimentListResponse)
async def list_experiments(
    principal: AdminDep, experiments: ExperimentsDep
) -> ExperimentListResponse:
    """All experiments of your storefront."""
    records = await experiments.list(storefront_id=principal.storefront_id)
    return ExperimentListResponse(data=[_response(r) for r in records], count=len(records))


@router.get("/{name}", response_model=ExperimentResponse, responses=_NOT_FOUND)
async def read_experiment(
    name: NamePath, principal: AdminDep, experiments: ExperimentsDep
) -> ExperimentResponse:
    """One experiment with its current allocation."""
    return _response(await experiments.get(storefront_id=principal.storefront_id, name=name))


@router.patch(
    "/{name}",
    response_model=ExperimentResponse,
    responses={
        **_NOT_FOUND,
        409: {
            "model": ErrorResponse,
            "description": "Another experiment is running, the weights do not name exactly "
            "the experiment's variants, or every weight is zero.",
        },
    },
)
async def update_experiment(
    name: NamePath, body: ExperimentUpdateRequest, principal: AdminDep, experiments: ExperimentsDep
) -> ExperimentResponse:
    """Ramp weights and/or start or stop; assigned users keep their variant."""
    record = await experiments.update(
        principal=principal,
        name=name,
        weights=body.weights,
        status=ExperimentStatus(body.status) if body.status else None,
    )
    return _response(record)


# At least 1e-6: below ~2e-16, 1 - alpha/2 rounds to 1 in floating point and the
# statistics libraries' quantiles become infinite (a 500 on alpha=5e-324).
Alpha = Annotated[
    float,
    Query(ge=1e-6, lt=0.5, description="Significance level (0.05: 95% intervals), 1e-6 to 0.5."),
]


@router.get("/{name}/report", response_model=ExperimentReportResponse, responses=_NOT_FOUND)
async def read_experiment_report(
    name: NamePath, principal: AdminDep, experiments: ExperimentsDep, alpha: Alpha = 0.05
) -> ExperimentReportResponse:
    """Per-variant outcomes, lift vs control with intervals and p-values, SRM check."""
    report = await experiments.report(storefront_id=principal.storefront_id, name=name, alpha=alpha)
    return ExperimentReportResponse.model_validate(
        {**report.to_dict(), "markdown": report_markdown(report)}
    )


@router.get(
    "/{name}/report.png",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}}, "description": "The report as a bar chart."},
        **_NOT_FOUND,
    },
)
async def read_experiment_report_chart(
    name: NamePath, principal: AdminDep, experiments: ExperimentsDep, alpha: Alpha = 0.05
) -> Response:
    """The report as a PNG chart (bars with intervals per metric and variant)."""
    import asyncio
    import tempfile
    from pathlib import Path as FsPath

    report = await experiments.report(storefront_id=principal.storefront_id, name=name, alpha=alpha)
    with tempfile.TemporaryDirectory() as tmp:
        path = FsPath(tmp) / "report.png"
        # matplotlib is CPU-bound and not async: keep the event loop free.
        await asyncio.to_thread(plot_report, report, path)
        content = path.read_bytes()
    return Response(content=content, media_type="image/png")
