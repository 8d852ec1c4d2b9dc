"""The product's settings with ``bench._ceiling`` as the URLconf (the ceilings' server only)."""

from policywindow.settings import *  # noqa: F403

ROOT_URLCONF = "bench._ceiling"
