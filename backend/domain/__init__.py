"""Pure domain: values, rules and failures. No I/O, no clock, no SQL, no GraphQL."""
