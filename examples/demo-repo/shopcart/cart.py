"""Cart arithmetic: line subtotals with a bulk discount, then an order-wide coupon, rounded to the cent."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
BULK_QUANTITY = 10  # a line with at least this many items gets the bulk discount
BULK_DISCOUNT = Decimal("0.10")


@dataclass
class Line:
    sku: str
    unit_price: Decimal
    quantity: int = 1

    def subtotal(self) -> Decimal:
        amount = self.unit_price * self.quantity
        if self.quantity > BULK_QUANTITY:
            amount -= amount * BULK_DISCOUNT
        return amount


@dataclass
class Cart:
    lines: list[Line] = field(default_factory=list)
    coupon_percent: int = 0

    def add(self, sku: str, unit_price: str, quantity: int = 1) -> Cart:
        if quantity < 1:
            raise ValueError("quantity must be at least 1")
        self.lines.append(Line(sku, Decimal(unit_price), quantity))
        return self

    def total(self) -> Decimal:
        subtotal = sum((line.subtotal() for line in self.lines), Decimal("0"))
        discount = subtotal * self.coupon_percent / 100
        return (subtotal - discount).quantize(CENT, rounding=ROUND_HALF_UP)
