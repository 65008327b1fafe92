"""What the relational tables promise beyond core's contract checks.

The manifest records lifecycle's own contract (so a weakened one cannot weaken core's checks),
and every customer has exactly one subscription, ``sub_N`` for ``cust_N``, which its events
reference.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from leadforge.findings import Finding

from leadforge_lifecycle.checks.frames import Context, ids

CHECK = "lifecycle.tables"


def recorded_contract(ctx: Context) -> Iterator[Finding]:
    recorded = ctx.manifest.contract
    if recorded is not None and recorded.to_json() != ctx.contract.to_json():
        yield Finding(
            CHECK,
            "relational_contract is not the lifecycle contract for the observation date "
            f"{ctx.observation.isoformat()}",
            where="manifest.json:relational_contract",
        )


def subscriptions(ctx: Context) -> Iterator[Finding]:
    subs = ctx.load(
        "subscriptions", {"id": ("subscription_id", ids("sub")), "cust": ("customer_id", ids("cust"))}
    )
    where = ctx.rel("subscriptions")
    cust = ctx.customers.cust
    if np.unique(subs["cust"]).size != subs["cust"].size or subs["cust"].size != cust.size:
        yield Finding(CHECK, "every customer needs exactly one subscription", where=f"{where}:customer_id")
    if np.any(subs["id"] != subs["cust"]):
        yield Finding(
            CHECK, "a subscription id does not match its customer (sub_N belongs to cust_N)", where=where
        )
    ev = ctx.events
    if np.any(ev.cols["sub"] != ev.cust):
        yield Finding(
            CHECK,
            "an event's subscription is not its customer's",
            where=f"{ctx.rel('subscription_events')}:subscription_id",
        )
