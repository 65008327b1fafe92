"""How much memory and disk a lead-scoring run needs, estimated from its config before it starts.

Memory grows with the leads of the largest shard only: each process simulates one shard at a
time, and the latent registry streams to disk shard by shard. The per-lead rate was measured
with ``/usr/bin/time`` on 100k and 1M-lead runs (6.5–12 KB peak per simulated lead in one
shard; 310 / 490 bytes of bundle per lead public / instructor); the figures are rounded so
that a run that fits is not refused.
"""

from __future__ import annotations

import math

from leadforge.config import GenerationConfig
from leadforge.enums import ExposureMode
from leadforge.footprint import Footprint

from leadforge_leadscoring.params import LeadScoringParams

BASE_BYTES = 300_000_000
SHARD_BYTES_PER_LEAD = 7_000
DISK_BYTES_PER_LEAD = {ExposureMode.STUDENT_PUBLIC: 320, ExposureMode.RESEARCH_INSTRUCTOR: 500}


def footprint(config: GenerationConfig) -> Footprint:
    p = config.params_as(LeadScoringParams)
    shards = min(p.shard_count(), p.n_accounts)
    largest_shard = min(p.n_leads, p.shard_leads, math.ceil(1.05 * p.n_leads / shards))
    memory = BASE_BYTES + SHARD_BYTES_PER_LEAD * largest_shard
    hint = "a smaller shard_leads (in an --override file) lowers the memory each process needs"
    disk = DISK_BYTES_PER_LEAD[config.exposure_mode] * p.n_leads
    return Footprint(memory, disk, "leads", p.n_leads, hint)
