"""Reading a /metrics page in tests: each sample by its name and labels."""

from prometheus_client.parser import text_string_to_metric_families


def metric_samples(text: str) -> dict:
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def metric_value(samples: dict, name: str, **labels) -> float:
    """A sample's value; 0 for one never counted (a counter with those labels not yet created)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)
