"""Read side: plain async functions returning frozen views; no business rules, no writes."""
