"""Which trials may train together: a pure function of the config, so that a resumed sweep
trains exactly the stacks a fresh one would.

A *group* is every trial of one optimizer setting and seed (they differ only in their
rate) when stacking is on, else one trial. The engine cuts a group into stacks of at most
its stack limit, in the group's order (see :meth:`lrlab.training.Trainer.iter_group`). A
group is the unit a backend hands to a worker: a worker holding a GPU trains whole stacks.

On a GPU the arithmetic of a stacked member depends (in its last bits) on how many members
its stack has, so a group with some trials finished in an earlier session trains whole
again: the finished ones ride along unrecorded, and the pending ones get the numbers a
fresh sweep would give them.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from lrlab.experiment.trials import Trial
from lrlab.rundir.records import EpochRecord


@dataclass(frozen=True)
class Resume:
    """Where a paused trial goes on from: the epochs it trained (their records), and its
    state after the last of them (:meth:`lrlab.training.Engine.snapshot`'s arrays)."""

    history: tuple[EpochRecord, ...]
    state: tuple[np.ndarray, ...]

    @property
    def epoch(self) -> int:
        return len(self.history)


@dataclass(frozen=True)
class Group:
    """Trials of one setting and seed, in sweep order; ``pending`` are the ids to record.
    ``until``: the epoch at which they pause (a halving rung), None: their last.
    ``resume``: for each trial, where it goes on from (None: its first epoch); a group's
    trials all start from the same epoch."""

    trials: tuple[Trial, ...]
    pending: frozenset[str]
    until: int | None = None
    resume: tuple[Resume | None, ...] | None = None

    @property
    def start(self) -> int:
        """The epochs its trials trained before (0: they start afresh)."""
        first = self.resume[0] if self.resume else None
        return first.epoch if first is not None else 0

    @property
    def key(self) -> str:
        """The optimizer setting's key: what a worker compiles for this group."""
        return self.trials[0].setting.key

    @property
    def recorded(self) -> tuple[Trial, ...]:
        return tuple(t for t in self.trials if t.trial_id in self.pending)

    def only(self, trial_ids: Collection[str]) -> Group:
        """The same group, recording only ``trial_ids`` (a retry of what did not finish)."""
        return Group(self.trials, self.pending & frozenset(trial_ids), self.until,
                     self.resume)


class Work:
    """The groups of one round, in the order they are to train; more may come while the
    round runs: a scheduler that decides as results arrive (asynchronous halving) adds a
    promoted trial's next stretch when it hears, through :meth:`ended`, that the trial
    paused. A session takes a group whenever a worker is free, and runs until the work is
    gone and no worker holds any."""

    def __init__(self, groups: Iterable[Group] = (), *,
                 on_ended: Callable[[Trial], None] | None = None) -> None:
        self._queued: deque[Group] = deque(groups)
        self._on_ended = on_ended
        # Each trial's stretches given and not yet ended (a trial promoted twice in a
        # round is given three times).
        self._open: Counter[str] = Counter()
        self._count(self._queued)

    def _count(self, groups: Iterable[Group]) -> None:
        for group in groups:
            self._open.update(t.trial_id for t in group.recorded)

    @property
    def unfinished(self) -> bool:
        """Whether some stretch given has not ended (a stop cut the round short)."""
        return any(count > 0 for count in self._open.values())

    def take(self) -> Group | None:
        """The next group to train (None: none queued now)."""
        return self._queued.popleft() if self._queued else None

    def take_all(self) -> list[Group]:
        found = list(self._queued)
        self._queued.clear()
        return found

    def put_back(self, group: Group) -> None:
        """A group a worker could not take: first again."""
        self._queued.appendleft(group)

    def add(self, groups: Iterable[Group], *, first: bool = False) -> None:
        """More groups: at the end, or (``first``) before every queued one, in order."""
        groups = list(groups)
        self._count(groups)
        if first:
            self._queued.extendleft(reversed(list(groups)))
        else:
            self._queued.extend(groups)

    def ended(self, trial: Trial, *, going_on: bool = True) -> None:
        """The runner recorded ``trial``'s end (finished, paused, failed) this round;
        ``going_on``: the sweep is not stopping (else nothing more is given)."""
        self._open[trial.trial_id] -= 1
        if going_on and self._on_ended is not None:
            self._on_ended(trial)

    def __len__(self) -> int:
        return len(self._queued)


def plan_groups(trials: Sequence[Trial], *, done: Collection[str], stacking: bool,
                until: int | None = None,
                resume: Mapping[str, Resume] | None = None) -> list[Group]:
    """The groups that hold a trial not in ``done``, in sweep order (a group is where its
    first trial is), each trained to epoch ``until`` (None: the last); a trial in
    ``resume`` goes on from there, in a group of trials that go on from the same epoch."""
    resume = resume or {}

    def resumed(members: Sequence[Trial]) -> tuple[Resume | None, ...] | None:
        found = tuple(resume.get(t.trial_id) for t in members)
        return found if any(r is not None for r in found) else None

    if not stacking:
        return [Group((t,), frozenset({t.trial_id}), until, resumed([t])) for t in trials
                if t.trial_id not in done]
    groups: dict[tuple[object, int, int], list[Trial]] = {}
    for trial in trials:
        start = resume[trial.trial_id].epoch if trial.trial_id in resume else 0
        groups.setdefault((trial.setting, trial.seed, start), []).append(trial)
    planned = []
    for members in groups.values():
        pending = frozenset(t.trial_id for t in members if t.trial_id not in done)
        if pending:
            planned.append(Group(tuple(members), pending, until, resumed(members)))
    return planned


def cut(trials: Sequence[Trial], limit: int) -> list[tuple[Trial, ...]]:
    """A group's stacks: consecutive runs of at most ``limit`` trials."""
    return [tuple(trials[i:i + limit]) for i in range(0, len(trials), limit)]
