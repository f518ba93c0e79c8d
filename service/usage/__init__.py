"""KB usage: agents and teams, what agents do with suggestions, ticket outcomes, and the reports built on them.

Layout: ``models`` (tables), ``crud`` (writes and lookups), ``facts`` (the reads behind the
reports), ``schemas`` (API models), ``routes``/``report_routes`` (HTTP), ``commands`` (CLI),
and pure logic testable without a database: ``analytics`` (metric definitions), ``periods``
(time buckets), ``mapping`` (webhook field mapping), ``gaps`` (content-gap clustering) and
``export`` (evaluation dataset from traffic). Article ids are plain strings; evaluation is never imported.
"""
