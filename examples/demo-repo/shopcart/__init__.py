"""Shopping-cart totals with bulk discounts and coupons."""
from shopcart.cart import BULK_DISCOUNT, BULK_QUANTITY, Cart, Line

__all__ = ["BULK_DISCOUNT", "BULK_QUANTITY", "Cart", "Line"]
