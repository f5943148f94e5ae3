"""The replay collector: the observations of a recorded bundle, as if collected again."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

from auditor.collect.base import CollectContext
from auditor.evidence import EvidenceBundle, Observation, Source, read_bundle


class ReplayCollector:
    """Reads a bundle written by `auditor collect` (or a demo's recorded bundle); the sources
    in `fresh` are never taken from it (they are read again, or are could-not-assess)."""

    name = "replay"

    def __init__(self, path: Path, fresh: Collection[Source] = ()) -> None:
        self.path = path
        self.fresh = frozenset(fresh)
        self._bundle: EvidenceBundle | None = None

    @property
    def bundle(self) -> EvidenceBundle:
        """The recorded bundle, read and verified once."""
        if self._bundle is None:
            self._bundle, _ = read_bundle(self.path)
        return self._bundle

    def collect(self, context: CollectContext) -> Sequence[Observation]:
        """The recorded observations, unchanged (their hashes were verified on read)."""
        observations = [o for o in self.bundle.observations if o.source not in self.fresh]
        context.progress("replay", len(observations), len(observations))
        return observations
