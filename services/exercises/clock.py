"""The scenario clock: scenario time as a function of wall time, folded from the clock's events.

Scenario time runs at `speed` scenario seconds per real second while running; pause holds it; a
jump sets it. Every record of the exercise is stamped in wall time (as a real incident's are), and
delays are computed in scenario time by mapping wall times through the clock's history.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

MAX_SPEED = 120.0


@dataclass(frozen=True)
class ClockMove:
    at: datetime  # wall time
    action: str  # start | pause | resume | speed | jump | end
    speed: float | None = None
    to_s: float | None = None


@dataclass(frozen=True)
class _Segment:
    wall: datetime
    scenario_s: float
    speed: float
    running: bool


class ScenarioClock:
    def __init__(self, moves: Iterable[ClockMove] = ()) -> None:
        self.segments: list[_Segment] = []
        self.started_at: datetime | None = None
        self.ended_at: datetime | None = None
        self.speed = 1.0
        for move in moves:
            self.apply(move)

    @property
    def running(self) -> bool:
        return bool(self.segments) and self.segments[-1].running and self.ended_at is None

    @property
    def started(self) -> bool:
        return self.started_at is not None

    def apply(self, move: ClockMove) -> None:
        now_s = self.at(move.at)
        running = self.running
        if move.action == "start":
            self.started_at = move.at
            self.speed = move.speed or self.speed
            running = True
        elif move.action == "pause":
            running = False
        elif move.action == "resume":
            running = True
        elif move.action == "speed" and move.speed:
            self.speed = move.speed
        elif move.action == "jump" and move.to_s is not None:
            now_s = max(now_s, move.to_s)
        elif move.action == "end":
            running = False
            self.ended_at = move.at
        self.segments.append(_Segment(move.at, now_s, self.speed, running))

    def at(self, wall: datetime) -> float:
        """Scenario seconds at a wall time (0 before the start; held while paused)."""
        seg = None
        for s in self.segments:
            if s.wall <= wall:
                seg = s
            else:
                break
        if seg is None:
            return 0.0
        if not seg.running:
            return seg.scenario_s
        return seg.scenario_s + max(0.0, (wall - seg.wall).total_seconds()) * seg.speed

    def wall_seconds_until(self, scenario_s: float, now: datetime) -> float | None:
        """Real seconds until the clock reads `scenario_s`; None while it is not running."""
        if not self.running:
            return None
        return max(0.0, (scenario_s - self.at(now)) / self.speed)
