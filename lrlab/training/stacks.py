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

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from lrlab.experiment.trials import Trial


@dataclass(frozen=True)
class Group:
    """Trials of one setting and seed, in sweep order; ``pending`` are the ids to record."""

    trials: tuple[Trial, ...]
    pending: frozenset[str]

    @property
    def key(self) -> str:
        """The optimizer setting's key: what a worker compiles for this group."""
        return self.trials[0].setting.key

    @property
    def recorded(self) -> tuple[Trial, ...]:
        return tuple(t for t in self.trials if t.trial_id in self.pending)

    def only(self, trial_ids: Collection[str]) -> Group:
        """The same group, recording only ``trial_ids`` (a retry of what did not finish)."""
        return Group(self.trials, self.pending & frozenset(trial_ids))


def plan_groups(trials: Sequence[Trial], *, done: Collection[str], stacking: bool) -> list[Group]:
    """The groups that hold a trial not in ``done``, in sweep order (a group is where its
    first trial is)."""
    if not stacking:
        return [Group((t,), frozenset({t.trial_id})) for t in trials if t.trial_id not in done]
    groups: dict[tuple[object, int], list[Trial]] = {}
    for trial in trials:
        groups.setdefault((trial.setting, trial.seed), []).append(trial)
    planned = []
    for members in groups.values():
        pending = frozenset(t.trial_id for t in members if t.trial_id not in done)
        if pending:
            planned.append(Group(tuple(members), pending))
    return planned


def cut(trials: Sequence[Trial], limit: int) -> list[tuple[Trial, ...]]:
    """A group's stacks: consecutive runs of at most ``limit`` trials."""
    return [tuple(trials[i:i + limit]) for i in range(0, len(trials), limit)]
