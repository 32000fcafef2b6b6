"""An analyst service, like the pipeline's own microservices: it scores
leads, and reports the analyst stage of each run to Tactical Link while it
works, with the tactical-link library.

    TACTICAL_LINK_REDIS=redis://127.0.0.1:6379 uvicorn app:app --port 8100
    curl -X POST localhost:8100/analyze -H 'content-type: application/json' \\
         -d '{"leads": [{"name": "Acme", "employees": 250, "engagement": 0.8}]}'
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Optional

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

from tactical_link import LinkUnavailable
from tactical_link.aio import Link, RunningStage

REDIS_URL = os.environ.get("TACTICAL_LINK_REDIS", "redis://127.0.0.1:6379")
CHANNEL = os.environ.get("TACTICAL_LINK_CHANNEL", "system_events")
# Leads scored between two progress updates.
BATCH = 10


class Lead(BaseModel):
    name: str
    employees: int
    engagement: float = Field(ge=0, le=1)


class Analysis(BaseModel):
    leads: list[Lead]
    threshold: float = 0.5
    # The pipeline run this is part of; a new one when absent.
    run_id: Optional[str] = None


class Scores(BaseModel):
    run_id: str
    scores: dict[str, float]
    qualified: list[str]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.link = Link.from_url(REDIS_URL, channel=CHANNEL, service="analyst")
    yield
    await app.state.link.close()


app = FastAPI(title="analyst", lifespan=lifespan)


def score(lead: Lead) -> float:
    """How promising a lead is, 0 to 1: engagement first, then size."""
    if lead.employees < 0:
        raise ValueError(f"lead {lead.name!r} has a negative headcount")
    return round(0.6 * lead.engagement + 0.4 * min(lead.employees / 500, 1.0), 3)


async def score_all(leads: list[Lead], stage: RunningStage) -> dict[str, float]:
    """Scores every lead, reporting progress after each batch."""
    scores: dict[str, float] = {}
    for done, lead in enumerate(leads, 1):
        scores[lead.name] = score(lead)
        if done % BATCH == 0 or done == len(leads):
            await stage.progress(100 * done / len(leads), detail=f"Scored {done} of {len(leads)}")
    return scores


@app.post("/analyze")
async def analyze(analysis: Analysis) -> Scores:
    """Runs the analyst stage of a run over the leads given."""
    link: Link = app.state.link
    run_id = analysis.run_id or link.new_run()
    detail = f"Scoring {len(analysis.leads)} leads"
    try:
        async with link.stage(run_id, "analyst", detail=detail) as stage:
            scores = await score_all(analysis.leads, stage)
            qualified = [name for name, value in scores.items() if value >= analysis.threshold]
            stage.result = f"{len(qualified)} of {len(scores)} leads above {analysis.threshold}"
    except LinkUnavailable as error:
        raise HTTPException(status_code=503, detail=str(error)) from error
    except ValueError as error:  # a bad lead (the stage shows the error), or a bad run id
        raise HTTPException(status_code=422, detail=str(error)) from error
    return Scores(run_id=run_id, scores=scores, qualified=qualified)
