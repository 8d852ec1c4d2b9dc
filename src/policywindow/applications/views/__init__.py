"""Views of 申报与受理, one module per page family; each exports ``urlpatterns``."""
