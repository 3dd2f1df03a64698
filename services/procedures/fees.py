"""What an application costs: the town's fee times the answer that counts (通数, 点数).

Amounts are whole yen. The total is worked out here only, from the answers as validated, so the
page that shows it, the filed application and (later) the payment all carry the same number.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contracts import applications as msg
from contracts.errors import ErrorCode, FieldError, failure
from contracts.procedures import ProcedureDetail


def fee(procedure: ProcedureDetail, values: Mapping[str, Any]) -> msg.Fee:
    """The fee of an application with these (validated) answers."""
    quantity = 1
    if procedure.fee_per is not None and (counted := values.get(procedure.fee_per)) is not None:
        whole = int(counted) if isinstance(counted, str) and counted.isdigit() else counted
        if isinstance(whole, float) and whole.is_integer():
            whole = int(whole)
        if not isinstance(whole, int) or isinstance(whole, bool) or whole < 1:
            label = next((f for f in procedure.fields if f.name == procedure.fee_per), None)
            ja, en = (label.label_ja, label.label_en) if label else (procedure.fee_per, procedure.fee_per)
            raise failure(ErrorCode.VALIDATION, "Not a whole number", f"{procedure.fee_per} counts the fee", [
                FieldError(field=f"$.answers.{procedure.fee_per}", message_ja=f"{ja}は1以上の整数で入力してください（例: 2）。",
                           message_en=f"{en}: please enter a whole number of at least 1, for example 2."),
            ])
        quantity = whole
    return msg.Fee(unit_yen=procedure.fee_yen, quantity=quantity, total_yen=procedure.fee_yen * quantity)
