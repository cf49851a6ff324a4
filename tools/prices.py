"""The price table (``docs/prices/eu-west-1.json``): the one reader of it.

``tools/docgen/cost.py`` prices the whole estate with it and ``tools/network_cost.py`` takes its
five network prices from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PRICES = ROOT / "docs" / "prices" / "eu-west-1.json"


@dataclass(frozen=True)
class PriceTable:
    region: str
    currency: str
    recorded: str
    note: str
    prices: dict[str, float]
    sources: dict[str, str]
    recorded_on: dict[str, str]

    @classmethod
    def from_file(cls, path: Path = DEFAULT_PRICES) -> PriceTable:
        data = json.loads(path.read_text())
        return cls(
            region=data["region"],
            currency=data["currency"],
            recorded=data["recorded"],
            note=data["note"],
            prices={key: float(value) for key, value in data["prices"].items()},
            sources=dict(data["sources"]),
            recorded_on=dict(data.get("recorded_on", {})),
        )

    def __getitem__(self, key: str) -> float:
        return self.prices[key]

    def date(self, key: str) -> str:
        return self.recorded_on.get(key, self.recorded)
