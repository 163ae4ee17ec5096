"""Re-assessment cadence (issue 14, ``docs/lifecycle.md``): when each initiative is next due for re-assessment.

The next re-assessment date is computed, never stored — so no door can forget to update it: it is the date of the
initiative's last approved assessment plus the months its bank's ``ReassessmentPolicy`` gives for its current tier
(a critical initiative: the shorter of that and ``months_critical``). Rules, each "unknown is never better than
known":

* no current score → the interval of tier D;
* criticality comes from the contract register (``PartnershipContract.critical_function``); no contract, or
  ``unknown`` → critical;
* never approved → due on the day the initiative was recorded (due now, overdue from the next day);
* a high or critical monitoring event recorded after the last approval → "re-assessment required", due on the day
  the event occurred if that is earlier;
* a bank without a policy uses ``DEFAULT_MONTHS`` (or ``settings.SCORECARD_REASSESSMENT_MONTHS``).

``reassessment_annotate`` adds ``next_reassessment_on``, ``reassessment_required`` and ``reassessment_state``
(``overdue`` / ``due`` / ``not_due``) to any initiative queryset as SQL, so the admin's list and filter, the API,
the weekly reminder and the report read one definition in one query. Retired initiatives are never due
(``reassessment_state`` is null for them). It reads scoring's tables by their relation names (``assessments``,
``current_score``, ``last_approval``): partnerships never imports scoring.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    DateField,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Least, TruncDate

from .choices import InitiativeStatus, ReassessmentState, TriState

DEFAULT_MONTHS = {"critical": 6, "A": 24, "B": 24, "C": 12, "D": 6}
DUE_WITHIN_DAYS = 30  # "due": on or before this many days from today
NEVER = datetime.date(9999, 12, 31)  # "no date" where a date is compared with LEAST


def default_months() -> dict[str, int]:
    return {**DEFAULT_MONTHS, **getattr(settings, "SCORECARD_REASSESSMENT_MONTHS", {})}


class AddMonths(Func):
    """``date + n months`` in SQL. PostgreSQL clamps to the month's last day (31 Jan + 1 month = 28/29 Feb);
    SQLite (the embedded ``make run``) rolls over into the next month, a day or three later at most."""

    output_field = DateField()
    arity = 2

    def _parts(self, compiler):
        date_sql, date_params = compiler.compile(self.source_expressions[0])
        months_sql, months_params = compiler.compile(self.source_expressions[1])
        return date_sql, months_sql, [*date_params, *months_params]

    def as_postgresql(self, compiler, connection, **extra):
        date_sql, months_sql, params = self._parts(compiler)
        return f"(({date_sql}) + make_interval(months => ({months_sql})::int))::date", params

    def as_sqlite(self, compiler, connection, **extra):
        date_sql, months_sql, params = self._parts(compiler)
        return f"date({date_sql}, '+' || ({months_sql}) || ' months')", params


def _months(field: str, default: int):
    return Coalesce(F(f"bank__reassessment_policy__{field}"), Value(default), output_field=IntegerField())


def months_expression():
    """The interval in months for the row's tier and criticality, from its bank's policy or the defaults."""
    defaults = default_months()
    by_tier = Case(
        *(
            When(current_score__tier=tier, then=_months(f"months_{tier.lower()}", defaults[tier]))
            for tier in ("A", "B", "C")
        ),
        default=_months("months_d", defaults["D"]),  # tier D, or no score: unknown is never better
        output_field=IntegerField(),
    )
    critical = ~Q(contract__critical_function=TriState.NO) | Q(contract__isnull=True)
    return Case(
        When(critical, then=Least(by_tier, _months("months_critical", defaults["critical"]))),
        default=by_tier,
        output_field=IntegerField(),
    )


def reassessment_annotate(
    initiatives: QuerySet, *, today: datetime.date, due_within: int = DUE_WITHIN_DAYS
) -> QuerySet:
    """Initiatives with ``last_approved_at``, ``last_approved_on``, ``next_reassessment_on``,
    ``reassessment_required``, ``required_since`` and ``reassessment_state``; see the module docstring."""
    # scoring's views of each initiative's last approval and of the severe events recorded since (scoring.LastApproval,
    # scoring.SevereSinceApproval), by their relation names: joins, once a query, where correlated subqueries ran
    # for every row — partnerships never imports scoring's modules.
    qs = initiatives.annotate(
        last_approved_at=F("last_approval__approved_at"),
        required_since=F("severe_since_approval__required_since"),
    )
    qs = qs.annotate(
        reassessment_required=ExpressionWrapper(Q(required_since__isnull=False), output_field=BooleanField()),
        last_approved_on=TruncDate("last_approved_at"),
    )
    # Django writes an annotation's whole SQL again wherever a later one names it: each expression below names the
    # one before once (a CASE on them doubled the copies at every level; with the correlated subqueries these views
    # replace, the report's stale section took 4.7 s of a 100k report). The date plus the months is null when never
    # approved (NULL + interval): the creation day.
    cadence_due = Coalesce(
        AddMonths(F("last_approved_on"), months_expression()),
        TruncDate("created_at"),
        output_field=DateField(),
    )
    # Not Least(cadence, required_since): SQLite's min() is null when one argument is, PostgreSQL's LEAST skips it.
    qs = qs.annotate(
        next_reassessment_on=Least(
            cadence_due, Coalesce(F("required_since"), Value(NEVER)), output_field=DateField()
        ),
    )
    soon = today + datetime.timedelta(days=due_within)
    return qs.annotate(
        reassessment_state=Case(
            When(status=InitiativeStatus.RETIRED, then=Value(None)),
            When(next_reassessment_on__lt=today, then=Value(ReassessmentState.OVERDUE.value)),
            When(next_reassessment_on__lte=soon, then=Value(ReassessmentState.DUE.value)),
            default=Value(ReassessmentState.NOT_DUE.value),
            output_field=CharField(),
        )
    )


def reassessment_state_filter(initiatives: QuerySet, state: str, *, today: datetime.date) -> QuerySet:
    """The annotated initiatives in one ``ReassessmentState`` (the admin filter and the API's ``?reassessment=``)."""
    return reassessment_annotate(initiatives, today=today).filter(reassessment_state=state)
