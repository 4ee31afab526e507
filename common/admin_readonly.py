class ReadOnlyAdminMixin:
    """For records only services write (ledger, orders, Stripe calls): staff may look, not touch."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
