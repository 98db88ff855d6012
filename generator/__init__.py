"""Where jokes come from (providers) and what runs the items (executor)."""

from generator.executor import Executor, ThreadPoolBatchExecutor
from generator.providers import (
    JokeRequest,
    OfflineProvider,
    Provider,
    ProviderError,
    ProviderUnavailable,
    make_provider,
)

__all__ = [
    "Executor",
    "JokeRequest",
    "OfflineProvider",
    "Provider",
    "ProviderError",
    "ProviderUnavailable",
    "ThreadPoolBatchExecutor",
    "make_provider",
]
