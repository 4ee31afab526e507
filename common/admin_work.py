"""Durable work in the admin (common/work.py): what failed and why, and a Retry action for staff.

The rows stay read-only: only the engine and the services change them; Retry only makes failed
rows due again (idempotent: a row not failed is left alone), then rings its queue's bell.
"""

from django.contrib import admin, messages
from django.db import transaction
from django.utils.translation import ngettext

from .admin_readonly import ReadOnlyAdminMixin
from .work import BELLS, KINDS, work_retry


class SetAsideFilter(admin.SimpleListFilter):
    title = "set aside"
    parameter_name = "failed"

    def lookups(self, request, model_admin):
        return (("yes", "Failed: staff to check"), ("no", "Not failed"))

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(failed_at__isnull=self.value() == "no")
        return queryset


class WorkAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Subclasses name their kind (`work_kind`, its name in common.work.KINDS)."""

    work_kind = ""
    actions = ("retry_work",)

    @admin.action(description="Retry the selected failed work (after fixing its cause)", permissions=["retry"])
    def retry_work(self, request, queryset):
        kind = KINDS[self.work_kind]
        with transaction.atomic():
            retried = work_retry(kind, pks=list(queryset.values_list("pk", flat=True)))
            if retried and kind.queue in BELLS:
                transaction.on_commit(BELLS[kind.queue])
        skipped = queryset.count() - retried
        text = ngettext("%(n)d %(label)s retried.", "%(n)d %(label)s items retried.", retried) % {
            "n": retried, "label": kind.label}
        if skipped:
            text += " " + ngettext("%(n)d was not failed and was left alone.",
                                   "%(n)d were not failed and were left alone.", skipped) % {"n": skipped}
        self.message_user(request, text, messages.SUCCESS if retried else messages.WARNING)

    def has_retry_permission(self, request) -> bool:
        opts = self.model._meta
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")
