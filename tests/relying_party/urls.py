from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in/", views.sign_in, name="sign_in"),
    path("callback/", views.callback, name="callback"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path("style.css", views.stylesheet, name="stylesheet"),
]
