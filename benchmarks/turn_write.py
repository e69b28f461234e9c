"""One turn's write to the embedded SQLite file, by its sync on commit.

The turn's transaction as `TurnLog` writes it (`conversations.record_turn`: the session on
its first turn, both messages), timed end to end through SQLAlchemy and aiosqlite, with
`PRAGMA synchronous` FULL (an fsync at every commit) against NORMAL (WAL syncs at
checkpoints; the service's default, `MORE_SQLITE_SYNCHRONOUS`). The settings alternate in
rounds on fresh files, so a noisy neighbour slows both alike. Writes JSON and a markdown
table to `--out`.

    .venv/bin/python benchmarks/turn_write.py --turns 300 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.domain.profile import Profile  # noqa: E402
from app.store import conversations  # noqa: E402
from app.store.db import create_db_engine, create_session_factory  # noqa: E402
from app.store.migrations import upgrade  # noqa: E402
from app.store.profiles import upsert_profile  # noqa: E402

SETTINGS = ("FULL", "NORMAL")
STOREFRONT = "default"  # created by the migrations
TURN = conversations.TurnRecord(
    user_message="Can I pay for the 4K TV in instalments? And what would it be over a year?",
    reply="Yes, the 4K TV fits: it's $899 and you have $1,700 available. That's $74.92 a "
    "month over 12 months, interest-free.",
    prompt_tokens=220,
    completion_tokens=31,
    latency_ms=900.0,
    handoff=False,
    context={"items": [{"title": "4K TV", "price": "899.00", "quantity": 1}]},
    profile_snapshot={"user_id": "u-bench", "credit_limit": "2000"},
    intent="purchase_fit",
    guard_passed=True,
    intervention="none",
)


async def _write_turns(path: Path, synchronous: str, turns: int, bar: tqdm) -> list[float]:
    """Milliseconds per turn's transaction; a new session every third turn."""
    url = f"sqlite+aiosqlite:///{path}"
    await asyncio.to_thread(upgrade, url)
    engine = create_db_engine(url, sqlite_synchronous=synchronous)  # type: ignore[arg-type]
    db = create_session_factory(engine)
    try:
        async with db() as s, s.begin():
            await upsert_profile(s, storefront_id=STOREFRONT, profile=Profile(user_id="u-bench"))
        times: list[float] = []
        session_id = ""
        for i in range(turns):
            is_new = i % 3 == 0
            session_id = str(uuid.uuid4()) if is_new else session_id
            started = time.perf_counter()
            async with db() as s, s.begin():
                await conversations.record_turn(
                    s,
                    storefront_id=STOREFRONT,
                    session_id=session_id,
                    user_id="u-bench",
                    variant="more",
                    policy_version="more-v1",
                    experiment=None,
                    api_key_name=None,
                    turn=TURN,
                    is_new=is_new,
                )
            times.append((time.perf_counter() - started) * 1000)
            bar.update()
        return times
    finally:
        await engine.dispose()


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=300, help="turns per setting and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args()

    times: dict[str, list[float]] = {s: [] for s in SETTINGS}
    loads: list[float] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        tqdm(total=args.turns * args.rounds * len(SETTINGS), unit="turn") as bar,
    ):
        for round_ in range(args.rounds):
            for setting in SETTINGS:
                bar.set_description(f"round {round_ + 1} {setting}")
                path = Path(tmp) / f"{setting}-{round_}.db"
                times[setting] += await _write_turns(path, setting, args.turns, bar)
                loads.append(os.getloadavg()[0])

    rows: list[dict[str, Any]] = [
        {
            "synchronous": s,
            "turns": len(times[s]),
            "p50_ms": round(statistics.median(times[s]), 2),
            "p95_ms": round(_quantile(times[s], 0.95), 2),
            "mean_ms": round(statistics.fmean(times[s]), 2),
        }
        for s in SETTINGS
    ]
    ratio = rows[1]["p50_ms"] / rows[0]["p50_ms"]
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    result = {
        "started": stamp,
        "command": " ".join(["benchmarks/turn_write.py", *sys.argv[1:]]),
        "machine": f"{os.cpu_count()} CPU cores",
        "load_1m": [round(x, 2) for x in loads],
        "rows": rows,
        "normal_vs_full_p50": round(ratio, 3),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"turn_write-{stamp}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"# One turn's SQLite write by `PRAGMA synchronous` ({stamp} UTC)",
        "",
        f"`{result['command']}`; load average {min(loads):.1f}–{max(loads):.1f}.",
        "",
        "| synchronous | turns | p50 ms | p95 ms | mean ms |",
        "|---|---:|---:|---:|---:|",
        *(
            "| "
            + " | ".join(str(r[k]) for k in ("synchronous", "turns", "p50_ms", "p95_ms", "mean_ms"))
            + " |"
            for r in rows
        ),
        "",
        f"NORMAL / FULL, p50: {ratio:.2f}",
    ]
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nwrote {stem}.json and .md")


if __name__ == "__main__":
    asyncio.run(main())
