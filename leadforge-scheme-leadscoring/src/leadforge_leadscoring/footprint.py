"""How much memory and disk a lead-scoring run needs, estimated from its config before it starts.

Memory grows with the leads of the largest shard (one shard is simulated at a time) and, in an
instructor bundle, with every lead (the latent registry is rendered whole). The per-lead rates
were measured with ``/usr/bin/time`` on 100k and 1M-lead runs on one shard (6.5–12 KB peak per
simulated lead, about 1 KB per lead of registry, 310 / 490 bytes of bundle per lead public /
instructor); they are rounded so that a run that fits is not refused.
"""

from __future__ import annotations

from leadforge.config import GenerationConfig
from leadforge.enums import ExposureMode
from leadforge.footprint import Footprint

from leadforge_leadscoring.params import LeadScoringParams

BASE_BYTES = 300_000_000
SHARD_BYTES_PER_LEAD = 7_000
REGISTRY_BYTES_PER_LEAD = 1_000
SMALL_SHARD_LEADS = 50_000
DISK_BYTES_PER_LEAD = {ExposureMode.STUDENT_PUBLIC: 320, ExposureMode.RESEARCH_INSTRUCTOR: 500}


def footprint(config: GenerationConfig) -> Footprint:
    p = config.params_as(LeadScoringParams)
    shards = -(-p.n_accounts // p.shard_accounts)
    largest_shard = -(-p.n_leads // shards)
    memory = BASE_BYTES + SHARD_BYTES_PER_LEAD * largest_shard
    if config.exposure_mode is ExposureMode.RESEARCH_INSTRUCTOR:
        memory += REGISTRY_BYTES_PER_LEAD * p.n_leads
    wanted = -(-p.n_leads // SMALL_SHARD_LEADS) * p.shard_accounts
    hint = (
        f"shards are simulated one at a time: more accounts (--n-accounts {wanted:,} or more) spread the "
        "leads over more, smaller shards"
        if largest_shard > SMALL_SHARD_LEADS
        else ""
    )
    disk = DISK_BYTES_PER_LEAD[config.exposure_mode] * p.n_leads
    return Footprint(memory, disk, "leads", p.n_leads, hint)
