"""Views of 系统管理, one module per page family; each module exports ``urlpatterns``."""
