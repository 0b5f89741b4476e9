"""Cost models: billing (`billing.py`: invoice months, daily facts, rollups, allocation
rules) and BigQuery job history (`usage.py`: jobs, tables, daily usage)."""

from cost.models.billing import (
    INVOICE_MONTH,
    NANOS,
    AllocationRule,
    BillingMonth,
    BillingSource,
    CostCredit,
    CostFact,
    CostMonthRollup,
    CreditMonthRollup,
    ImportRun,
    Label,
    LabelSet,
    to_decimal,
    to_nanos,
)
from cost.models.usage import (
    BigQueryJob,
    BigQueryTable,
    JobImportRun,
    JobUsageDay,
    JobUser,
    TableCombo,
    TableSet,
    TableSetMember,
)

__all__ = [
    "INVOICE_MONTH",
    "NANOS",
    "AllocationRule",
    "BigQueryJob",
    "BigQueryTable",
    "BillingMonth",
    "BillingSource",
    "CostCredit",
    "CostFact",
    "CostMonthRollup",
    "CreditMonthRollup",
    "ImportRun",
    "JobImportRun",
    "JobUsageDay",
    "JobUser",
    "Label",
    "LabelSet",
    "TableCombo",
    "TableSet",
    "TableSetMember",
    "to_decimal",
    "to_nanos",
]
