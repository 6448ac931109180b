"""Backends: where a sweep's trials train. ``LocalBackend`` trains them on this machine,
several at once in worker processes; ``RayBackend`` spreads them over a Ray cluster (Ray is
imported only then). Both pin each trial's threads, so their numbers agree."""

from lrlab.run.backends.base import Backend, BackendError, Session, TrainerFactory, TrialEvents
from lrlab.run.backends.local import LocalBackend
from lrlab.run.backends.ray_cluster import RayBackend, RayOptions

__all__ = ["Backend", "BackendError", "LocalBackend", "RayBackend", "RayOptions", "Session",
           "TrainerFactory", "TrialEvents"]
