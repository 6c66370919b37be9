"""The township hub's own services (the staff queue comes in a later issue)."""
