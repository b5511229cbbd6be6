"""Price table per model and the cost of one response's usage (USD per million tokens)."""
from __future__ import annotations

from typing import Mapping, NamedTuple

from glm_agent.core.turn import Usage


class Price(NamedTuple):
    """USD per million tokens: uncached input, cached input, output (reasoning counts as output)."""

    input: float
    cached_input: float
    output: float


# Z.ai international list prices (glm-api.md section 6); mainland prices are in CNY and not modelled.
DEFAULT_PRICES: dict[str, Price] = {
    "glm-4.6": Price(0.60, 0.11, 2.20),
    "glm-4.7": Price(0.60, 0.11, 2.20),
    "glm-4.5": Price(0.60, 0.11, 2.20),
    "glm-4.5-air": Price(0.20, 0.03, 1.10),
    "glm-4.5-flash": Price(0.0, 0.0, 0.0),
}


def as_price(value: object) -> Price:
    """Accept a Price, a 3-sequence or a mapping with input/cached_input (or cached)/output keys."""
    if isinstance(value, Mapping):
        cached = value.get("cached_input", value.get("cached", value.get("input", 0.0)))
        return Price(float(value.get("input", 0.0)), float(cached), float(value.get("output", 0.0)))
    input_, cached, output = value  # type: ignore[misc]
    return Price(float(input_), float(cached), float(output))


def price_for(model: str, prices: Mapping[str, object] | None = None) -> Price | None:
    """The price of `model` (provider prefixes like "z-ai/" ignored); overrides win over the defaults."""
    key = model.lower().rsplit("/", 1)[-1]
    if prices:
        for name, value in prices.items():
            if name.lower() == key:
                return as_price(value)
    return DEFAULT_PRICES.get(key)


def cost_usd(model: str, usage: Usage, prices: Mapping[str, object] | None = None) -> float:
    """Cost of one usage block; 0.0 for a model with no known price."""
    price = price_for(model, prices)
    if price is None:
        return 0.0
    cached = min(usage.cached_tokens, usage.prompt_tokens)
    uncached = usage.prompt_tokens - cached
    return (uncached * price.input + cached * price.cached_input + usage.completion_tokens * price.output) / 1e6
