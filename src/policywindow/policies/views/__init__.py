"""Views of this module, one module per page family; each exports ``urlpatterns``."""
