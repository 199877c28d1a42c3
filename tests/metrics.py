"""A server's Prometheus metrics, as the end-to-end tests read them.

``scrape(url)`` reads a metrics endpoint; ``Samples.value`` sums the samples of
one series whose labels include the given ones, so a test need not know every
label (nor how many workers wrote it); ``Samples.delta`` is how far that sum
moved since an earlier scrape.
"""

from dataclasses import dataclass

import requests
from prometheus_client.parser import text_string_to_metric_families


@dataclass(frozen=True)
class Samples:
    samples: tuple  # prometheus_client.samples.Sample

    @classmethod
    def parse(cls, text: str) -> "Samples":
        return cls(tuple(sample for family in text_string_to_metric_families(text) for sample in family.samples))

    def value(self, name: str, **labels: str) -> float:
        """The sum of the samples named ``name`` whose labels include ``labels``; 0.0 when none."""
        wanted = labels.items()
        return sum(sample.value for sample in self.samples if sample.name == name and wanted <= sample.labels.items())

    def delta(self, before: "Samples", name: str, **labels: str) -> float:
        return self.value(name, **labels) - before.value(name, **labels)

    def names(self) -> set[str]:
        return {sample.name for sample in self.samples}


class Moved:
    """How far one server's series moved since this was made (``server``: see ``Stack.metrics``)."""

    def __init__(self, stack, server: str):
        self.stack = stack
        self.server = server
        self.before = stack.metrics(server)
        self.after: Samples | None = None

    def scrape(self) -> "Moved":
        self.after = self.stack.metrics(self.server)
        return self

    def __call__(self, name: str, **labels: str) -> float:
        return self.after.delta(self.before, name, **labels)


def scrape(url: str) -> Samples:
    response = requests.get(url, timeout=10)
    response.raise_for_status()
    return Samples.parse(response.text)
