"""Background work on dramatiq over Redis: projections now; scanners, timers, reports later."""
