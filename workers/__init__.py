"""Background work on dramatiq over Redis: projections now; chain scanners, timers, reports later."""
