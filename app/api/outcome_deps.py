"""Typed dependencies of the outcome, takeover and experiment routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.services.events import EventService
from app.services.experiments import ExperimentService
from app.services.handoff import HandoffService
from app.services.outcome_setup import OutcomeServices
from app.services.registry import PolicyRegistry


def get_outcome_services(request: Request) -> OutcomeServices:
    return request.app.state.outcomes  # type: ignore[no-any-return]


OutcomesDep = Annotated[OutcomeServices, Depends(get_outcome_services)]


def get_events(outcomes: OutcomesDep) -> EventService:
    return outcomes.events


def get_handoffs(outcomes: OutcomesDep) -> HandoffService:
    return outcomes.handoffs


def get_experiments(outcomes: OutcomesDep) -> ExperimentService:
    return outcomes.experiments


def get_registry(outcomes: OutcomesDep) -> PolicyRegistry:
    return outcomes.registry


EventsDep = Annotated[EventService, Depends(get_events)]
HandoffsDep = Annotated[HandoffService, Depends(get_handoffs)]
ExperimentsDep = Annotated[ExperimentService, Depends(get_experiments)]
RegistryDep = Annotated[PolicyRegistry, Depends(get_registry)]
