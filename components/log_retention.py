"""CloudWatch Logs retention from the number of days in the configuration."""

from __future__ import annotations

from aws_cdk import aws_logs as logs
from constructs import IConstruct

from components.compliance import control_tower

#: The shortest retention AWS Control Tower's CT.CLOUDWATCH.PR.2 accepts.
CONTROL_TOWER_MINIMUM_DAYS = 365

_BY_DAYS = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
    2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}


def retention(days: int) -> logs.RetentionDays:
    """The RetentionDays member for ``days``; the configuration only accepts these values."""
    return _BY_DAYS[days]


def record_short_retention(log_group: IConstruct, *, days: int, environment: str) -> None:
    """Record why a non-production log group keeps its logs less than a year (CT.CLOUDWATCH.PR.2).

    Nothing is recorded for prod or for a year or more: a prod log group kept less than a year
    fails the Control Tower gate, whatever the configuration says.
    """
    if days >= CONTROL_TOWER_MINIMUM_DAYS or environment == "prod":
        return
    control_tower.skip(
        log_group,
        "CT.CLOUDWATCH.PR.2",
        f"The {environment} environment keeps these logs {days} days, as log_retention_days in its "
        "configuration says, because they record test traffic only; prod, which serves users, keeps its "
        f"logs at least {CONTROL_TOWER_MINIMUM_DAYS} days or the gate fails.",
    )
