"""Delivery metrics read from the records: push-to-production lead time and build avoidance.

Lead time: for each production promotion that reached `deployed` or `verified` (rollbacks
excluded), the time from the first push of its revision (or, without a push record, the
earliest pipeline run of that revision) to the promotion's end.
Build avoidance: for each push, the share of services that did not need a new build.
"""

from __future__ import annotations

import sqlite3
import statistics
from typing import Any

DONE_PHASES = ("deployed", "verified")
RECENT_PUSHES = 20


def compute(conn: sqlite3.Connection, environment: str = "production") -> dict[str, Any]:
    """Everything the status page and `conveyor metrics` show, as plain JSON-able data."""
    return {
        "environment": environment,
        "lead_time": lead_times(conn, environment),
        "build_avoidance": build_avoidance(conn),
    }


def lead_times(conn: sqlite3.Connection, environment: str = "production") -> dict[str, Any]:
    """Per service: every measured promotion (oldest first), the last one and the median."""
    marks = ",".join("?" for _ in DONE_PHASES)
    rows = conn.execute(
        "SELECT p.service, p.revision, p.digest, p.finished_at,"
        " (SELECT MIN(pushed_at) FROM pushes WHERE new = p.revision) AS pushed_at,"
        " (SELECT MIN(started_at) FROM runs WHERE revision = p.revision) AS run_started_at"
        " FROM promotions p"
        f" WHERE p.environment = ? AND p.phase IN ({marks}) AND p.rollback = 0"
        " AND p.revision IS NOT NULL AND p.finished_at IS NOT NULL"
        " ORDER BY p.finished_at, p.id",
        (environment, *DONE_PHASES),
    ).fetchall()
    per_service: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        start, source = row["pushed_at"], "push"
        if start is None:
            start, source = row["run_started_at"], "run"
        if start is None:
            continue  # nothing tells when this revision entered the system
        per_service.setdefault(row["service"], []).append({
            "revision": row["revision"], "digest": row["digest"],
            "started_at": start, "start_source": source, "finished_at": row["finished_at"],
            "seconds": max(0.0, row["finished_at"] - start),
        })
    result: dict[str, Any] = {}
    for service in sorted(per_service):
        samples = per_service[service]
        result[service] = {
            "count": len(samples),
            "last_s": samples[-1]["seconds"],
            "median_s": statistics.median(s["seconds"] for s in samples),
            "last": samples[-1],
            "samples": samples,
        }
    return result


def build_avoidance(conn: sqlite3.Connection, recent: int = RECENT_PUSHES) -> dict[str, Any]:
    """Per push: (services_total - services_built) / services_total; overall, over all pushes."""
    rows = conn.execute(
        "SELECT id, ref, new, services_total, services_built, pushed_at FROM pushes ORDER BY id"
    ).fetchall()
    pushes = []
    total = avoided = 0
    for row in rows:
        count, built = row["services_total"], min(row["services_built"], row["services_total"])
        ratio = (count - built) / count if count > 0 else None
        total += max(count, 0)
        avoided += max(count - built, 0)
        pushes.append({
            "id": row["id"], "ref": row["ref"], "revision": row["new"],
            "services_total": count, "services_built": row["services_built"],
            "avoided": ratio, "pushed_at": row["pushed_at"],
        })
    return {
        "pushes": len(pushes),
        "overall": avoided / total if total else None,
        "last": pushes[-1] if pushes else None,
        "recent": pushes[-recent:][::-1],
    }


def format_duration(seconds: float | None) -> str:
    """A human duration: 42s, 5m 03s, 2h 07m, 3d 04h."""
    if seconds is None:
        return "-"
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours:02d}h"


def format_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def format_text(data: dict[str, Any]) -> str:
    """The metrics as a few aligned lines for the terminal."""
    lines = [f"Lead time, push to {data.get('environment', 'production')}:"]
    leads = data.get("lead_time") or {}
    if not leads:
        lines.append("  no completed promotions yet")
    width = max((len(s) for s in leads), default=0)
    for service, item in leads.items():
        lines.append(
            f"  {service:<{width}}  last {format_duration(item['last_s']):>8}"
            f"  median {format_duration(item['median_s']):>8}"
            f"  ({item['count']} promotion{'s' if item['count'] != 1 else ''})"
        )
    avoidance = data.get("build_avoidance") or {}
    lines.append("Build avoidance:")
    last = avoidance.get("last")
    if not last:
        lines.append("  no pushes recorded yet")
    else:
        lines.append(
            f"  last push   {format_ratio(last['avoided']):>4} avoided"
            f" ({last['services_built']} of {last['services_total']} services built,"
            f" {last['revision'][:12]})"
        )
        lines.append(
            f"  all pushes  {format_ratio(avoidance.get('overall')):>4} avoided"
            f" over {avoidance['pushes']} push{'es' if avoidance['pushes'] != 1 else ''}"
        )
    return "\n".join(lines)
