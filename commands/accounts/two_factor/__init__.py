"""Two-factor authentication: TOTP and SMS enrolment, recovery codes, and their bookkeeping."""
