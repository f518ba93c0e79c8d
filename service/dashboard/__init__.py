"""The team-lead dashboard and the monthly report, built on the usage reports and the credit ledger."""
