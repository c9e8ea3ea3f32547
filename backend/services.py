"""Long-lived resources of an API process, built once at start-up and shared by requests."""

from __future__ import annotations

from dataclasses import dataclass

import dramatiq
import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.order_waiter import OrderWaiter
from backend.pubsub import Hub
from backend.security.rate_limit import RateLimiter
from backend.settings import Settings
from commands.bus import CommandBus
from workers.nudger import CoalescingNudger


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    redis: aioredis.Redis
    broker: dramatiq.Broker
    bus: CommandBus
    hub: Hub
    order_waiter: OrderWaiter
    nudger: CoalescingNudger
    # Redis token buckets (IP, user, API key, orders); None: no limits (tests of other parts).
    rate_limiter: RateLimiter | None = None
