from dataclasses import dataclass


@dataclass(frozen=True)
class Shortfall:
    product_id: int
    product_name: str
    requested: int
    available: int

    def __str__(self):
        return f"{self.product_name}: wanted {self.requested}, {self.available} left"


class InsufficientStock(Exception):
    """Raised once with every short line, so a caller can name them all."""

    def __init__(self, shortfalls: list[Shortfall]):
        self.shortfalls = shortfalls
        super().__init__("Not enough stock: " + "; ".join(str(s) for s in shortfalls))


class InvalidStockChange(ValueError):
    """A stock change that makes no sense (zero or negative quantity, negative level)."""
