import unittest
from decimal import Decimal

from shopcart import Cart


class CartTotals(unittest.TestCase):
    def test_empty_cart_is_free(self):
        self.assertEqual(Cart().total(), Decimal("0.00"))

    def test_plain_lines_add_up(self):
        cart = Cart().add("pen", "1.20", 3).add("pad", "4.50")
        self.assertEqual(cart.total(), Decimal("8.10"))

    def test_coupon_applies_to_the_whole_order(self):
        cart = Cart(coupon_percent=15).add("mug", "9.99", 2)
        self.assertEqual(cart.total(), Decimal("16.98"))

    def test_bulk_discount_starts_at_ten_items(self):
        cart = Cart().add("sticker", "2.50", 10)
        self.assertEqual(cart.total(), Decimal("22.50"))

    def test_bulk_discount_and_coupon_combine(self):
        cart = Cart(coupon_percent=10).add("sticker", "2.50", 12)
        self.assertEqual(cart.total(), Decimal("24.30"))

    def test_zero_quantity_is_refused(self):
        with self.assertRaises(ValueError):
            Cart().add("pen", "1.20", 0)


if __name__ == "__main__":
    unittest.main()
