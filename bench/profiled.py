"""The catalog app under cProfile, for `--profile`. Profiling starts on SIGUSR1 (so the bench
can prime the server first and profile only the measured load), and the stats are written to
BENCH_PROFILE_OUT when the app's lifespan shuts down (uvicorn re-raises SIGTERM after a clean
shutdown, so atexit would never run). Only the event-loop thread is profiled, which is where
the check path runs."""

from __future__ import annotations

import cProfile
import os
import signal


def app_factory():
    from catalog.api.app import app_factory as catalog_factory

    app = catalog_factory()
    profiler = cProfile.Profile()
    signal.signal(signal.SIGUSR1, lambda *_: profiler.enable())

    async def profiled(scope, receive, send):
        if scope["type"] != "lifespan":
            return await app(scope, receive, send)

        async def on_send(message):
            if message["type"] == "lifespan.shutdown.complete":
                profiler.disable()
                profiler.dump_stats(os.environ["BENCH_PROFILE_OUT"])
            await send(message)

        return await app(scope, receive, on_send)

    return profiled
