"""The product's settings as every benchmark serves them (``bench._server.serve``).

Two additions, both outside the product: the ceiling views next to the product's URLs
(``bench._ceiling``), and a count of the SQL statements each answer ran, in its
``X-Bench-SQL`` header (``bench._sql``), so a load test can report the queries of every
request it measured. The ceilings are served with the same settings, so both additions are
in every figure and in the ceilings they are compared with.
"""

from policywindow.settings import *  # noqa: F403

ROOT_URLCONF = "bench._ceiling"
MIDDLEWARE = ["bench._sql.SqlCountHeaderMiddleware", *MIDDLEWARE]  # noqa: F405
